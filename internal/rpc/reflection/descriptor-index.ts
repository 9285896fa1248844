import { toBinary, type DescEnum, type DescFile, type DescMessage, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';

/**
 * What server reflection can tell about one process: the files declaring the services
 * it serves and every file they import, transitively (google/api, google/protobuf's
 * descriptor.proto and well-known types, taskd/v1/options.proto...). Nothing else: a
 * scheduler does not describe TaskService, an apiserver not the internal LinkService.
 *
 * Built once per process from the generated descriptors (`DescService.file`); answers
 * are lookups in maps built here.
 */
export class DescriptorIndex {
  /** Fully-qualified names of the services, sorted. */
  readonly serviceNames: readonly string[];
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  /** Extendee type name → field number → the file declaring that extension. */
  private readonly extensions = new Map<string, Map<number, DescFile>>();
  private readonly messageTypes = new Set<string>();
  private readonly serialized = new Map<DescFile, Uint8Array>();

  /** Indexes `services` and their files' transitive imports; a service listed twice counts once. */
  constructor(services: readonly DescService[]) {
    this.serviceNames = [...new Set(services.map((s) => s.typeName))].sort();
    for (const s of services) this.addFile(s.file);
  }

  /** The file named `name` (its path, e.g. "taskd/v1/task.proto"), or undefined. */
  fileByName(name: string): DescFile | undefined {
    return this.files.get(name);
  }

  /**
   * The file declaring `symbol`: a package-qualified service, method, message, field,
   * oneof, enum, enum value or extension, nested at any depth; a leading dot is allowed.
   */
  fileContainingSymbol(symbol: string): DescFile | undefined {
    return this.symbols.get(symbol.replace(/^\./, ''));
  }

  /** The file declaring extension `fieldNumber` of message type `typeName`, or undefined. */
  fileContainingExtension(typeName: string, fieldNumber: number): DescFile | undefined {
    return this.extensions.get(typeName.replace(/^\./, ''))?.get(fieldNumber);
  }

  /**
   * The field numbers of every indexed extension of message type `typeName`, ascending
   * (empty when it has none); undefined when no indexed file declares that message.
   */
  extensionNumbers(typeName: string): number[] | undefined {
    const name = typeName.replace(/^\./, '');
    if (!this.messageTypes.has(name)) return undefined;
    return [...(this.extensions.get(name)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /**
   * Serialized FileDescriptorProtos: `file` first, then its transitive imports except
   * those named in `sent`. Adds every file it returns to `sent`, so one reflection
   * stream receives each import once.
   */
  withDependencies(file: DescFile, sent: Set<string>): Uint8Array[] {
    const out = [this.bytesOf(file)];
    sent.add(file.proto.name);
    const visit = (f: DescFile): void => {
      for (const dep of f.dependencies) {
        if (sent.has(dep.proto.name)) continue;
        sent.add(dep.proto.name);
        out.push(this.bytesOf(dep));
        visit(dep);
      }
    };
    visit(file);
    return out;
  }

  private bytesOf(file: DescFile): Uint8Array {
    let b = this.serialized.get(file);
    if (!b) {
      b = toBinary(FileDescriptorProtoSchema, file.proto);
      this.serialized.set(file, b);
    }
    return b;
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.proto.name)) return;
    this.files.set(file.proto.name, file);
    for (const dep of file.dependencies) this.addFile(dep);
    for (const s of file.services) {
      this.symbols.set(s.typeName, file);
      for (const m of s.methods) this.symbols.set(`${s.typeName}.${m.name}`, file);
    }
    for (const e of file.enums) this.addEnum(file, e);
    for (const m of file.messages) this.addMessage(file, m);
    for (const x of file.extensions) this.addExtension(file, x);
  }

  private addMessage(file: DescFile, m: DescMessage): void {
    this.symbols.set(m.typeName, file);
    this.messageTypes.add(m.typeName);
    for (const f of m.fields) this.symbols.set(`${m.typeName}.${f.name}`, file);
    for (const o of m.oneofs) this.symbols.set(`${m.typeName}.${o.name}`, file);
    for (const e of m.nestedEnums) this.addEnum(file, e);
    for (const n of m.nestedMessages) this.addMessage(file, n);
    for (const x of m.nestedExtensions) this.addExtension(file, x);
  }

  private addEnum(file: DescFile, e: DescEnum): void {
    this.symbols.set(e.typeName, file);
    // Enum values are scoped like C++ enumerators: siblings of the enum, not children.
    const scope = e.typeName.slice(0, e.typeName.length - e.name.length);
    for (const v of e.values) this.symbols.set(`${scope}${v.name}`, file);
  }

  private addExtension(file: DescFile, x: { typeName: string; number: number; extendee: DescMessage }): void {
    this.symbols.set(x.typeName, file);
    let byNumber = this.extensions.get(x.extendee.typeName);
    if (!byNumber) this.extensions.set(x.extendee.typeName, (byNumber = new Map()));
    byNumber.set(x.number, file);
  }
}
