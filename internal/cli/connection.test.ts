import { describe, expect, it } from 'vitest';
import { configPath, DEFAULT_SERVER, normalizeServer, parseConfigFile, resolveConnection } from './connection.js';

const file = parseConfigFile(`
server: http://top:1
token: top-token
namespace: top-ns
current-context: staging
contexts:
  staging: { server: "http://staging:2", token: staging-token }
  prod:
    server: https://prod.example.com/
    namespace: payments
`, 'test.yaml');

describe('resolveConnection', () => {
  it('flags beat the environment, which beats the context, which beats the top level', () => {
    const env = { TASKD_SERVER: 'http://env:3', TASKD_TOKEN: 'env-token' };
    expect(resolveConnection({ server: 'flag:4', token: 'flag-token', namespace: 'flag-ns' }, env, file))
      .toEqual({ server: 'http://flag:4', token: 'flag-token', namespace: 'flag-ns' });
    expect(resolveConnection({}, env, file)).toEqual({ server: 'http://env:3', token: 'env-token', namespace: 'top-ns' });
    expect(resolveConnection({}, {}, file)).toEqual({ server: 'http://staging:2', token: 'staging-token', namespace: 'top-ns' });
  });

  it('--context beats $TASKCTL_CONTEXT beats current-context; unknown contexts are usage errors', () => {
    expect(resolveConnection({ context: 'prod' }, { TASKCTL_CONTEXT: 'staging' }, file))
      .toEqual({ server: 'https://prod.example.com', token: 'top-token', namespace: 'payments' });
    expect(resolveConnection({}, { TASKCTL_CONTEXT: 'prod' }, file).server).toBe('https://prod.example.com');
    expect(() => resolveConnection({ context: 'nope' }, {}, file)).toThrow('context "nope" is not in the config file (known: staging, prod)');
  });

  it('without flags, environment or file: the local default server, no token, the server\'s namespace', () => {
    expect(resolveConnection({}, {}, undefined)).toEqual({ server: DEFAULT_SERVER, namespace: '' });
  });

  it('servers: host:port gets http://; other schemes are refused', () => {
    expect(normalizeServer('127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(normalizeServer('https://x.example/')).toBe('https://x.example');
    expect(() => normalizeServer('ftp://x')).toThrow(/only http/);
  });
});

describe('config file', () => {
  it('path: --config, else $TASKCTL_CONFIG, else XDG or ~/.config', () => {
    expect(configPath({ config: '/a.yaml' }, { TASKCTL_CONFIG: '/b.yaml' }, '/home/u')).toEqual({ path: '/a.yaml', explicit: true });
    expect(configPath({}, { TASKCTL_CONFIG: '/b.yaml' }, '/home/u')).toEqual({ path: '/b.yaml', explicit: true });
    expect(configPath({}, { XDG_CONFIG_HOME: '/x' }, '/home/u').path).toBe('/x/taskd/taskctl.yaml');
    expect(configPath({}, {}, '/home/u')).toEqual({ path: '/home/u/.config/taskd/taskctl.yaml', explicit: false });
  });

  it('unknown keys and bad YAML are usage errors naming the file', () => {
    expect(() => parseConfigFile('sever: x', 'c.yaml')).toThrow(/^config c.yaml: .*sever/);
    expect(() => parseConfigFile('contexts: { a: { tokn: x } }', 'c.yaml')).toThrow(/contexts\.a/);
    expect(() => parseConfigFile('a: [', 'c.yaml')).toThrow(/^config c.yaml:/);
    expect(parseConfigFile('', 'c.yaml')).toEqual({});
  });
});
