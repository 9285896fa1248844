/**
 * The scheduler addresses a worker cycles through, and the one a NotLeader answer
 * redirected it to, which is tried next (once) before cycling resumes.
 */
export class AddressBook {
  private readonly addresses: string[];
  private index = -1;
  private redirect: string | undefined;

  /** Throws when `addresses` is empty or holds something that is not an http(s) URL. */
  constructor(addresses: string[]) {
    if (addresses.length === 0) throw new Error('Worker: addresses must name at least one scheduler');
    this.addresses = addresses.map(normalizeAddress);
  }

  /** The address to connect to now. */
  next(): string {
    const r = this.redirect;
    if (r !== undefined) {
      this.redirect = undefined;
      return r;
    }
    this.index = (this.index + 1) % this.addresses.length;
    return this.addresses[this.index] as string;
  }

  /** Makes `address` the next one tried; an empty address (no leader known) changes nothing. */
  redirectTo(address: string): void {
    if (address) this.redirect = normalizeAddress(address);
  }
}

/** `host:port` becomes `http://host:port`; a trailing slash is dropped. Throws on a malformed URL. */
export function normalizeAddress(address: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `http://${address}`;
  const url = new URL(withScheme);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`Worker: scheduler address "${address}" must be an http:// or https:// URL`);
  }
  return withScheme.replace(/\/+$/, '');
}
