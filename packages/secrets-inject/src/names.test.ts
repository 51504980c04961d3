import { SecretsError } from './errors.js';
import { namespaceOfEnvironment, validateNamespace, validateSecretName } from './names.js';

describe('validateSecretName', () => {
  it.each(['dbcreds', 'billing/db', 'a.b_c+d=e@f-g', 'nhix/db', 'app/nhi/db', 'nhi.db'])(
    'accepts %j',
    (name) => {
      expect(validateSecretName(name)).toBe(name);
    },
  );

  it.each([
    '',
    '..',
    '../x',
    'a/../b',
    '/abs',
    'a/',
    'a//b',
    './a',
    'arn:aws:secretsmanager:x',
    'a b',
    'ü',
    7,
  ])('refuses %j with invalid_config', (name) => {
    expect(() => validateSecretName(name)).toThrow(expect.objectContaining({ reason: 'invalid_config' }));
  });

  it.each(['nhi/payments/signing-key', 'nhi/billing/signing-key', 'nhi/x'])(
    'refuses %j: nhi/ holds the signing keys, which only identity-sign reads',
    (name) => {
      expect(() => validateSecretName(name)).toThrow(
        expect.objectContaining({
          reason: 'invalid_config',
          message: `secrets-inject: secret name "${name}" is under nhi/, which holds the workloads' signing keys: identity-sign reads a function's own key, and no key is injected`,
        }),
      );
    },
  );

  it('refuses names that do not fit in the namespace', () => {
    expect(() => validateSecretName('a'.repeat(11), 10)).toThrow(SecretsError);
    expect(validateSecretName('a'.repeat(10), 10)).toHaveLength(10);
  });
});

describe('validateNamespace', () => {
  it.each(['/prod/', '/prod/team/', '/nhi/', '/prod/team/nhi/'])('accepts %j', (namespace) => {
    expect(validateNamespace(namespace)).toBe(namespace);
  });

  it.each(['prod', '/prod', 'prod/', '/', '//', '/../', '/a//b/', '/a b/', undefined])(
    'refuses %j',
    (namespace) => {
      expect(() => validateNamespace(namespace)).toThrow(SecretsError);
    },
  );

  it.each(['/prod/nhi/', '/prod/nhi/billing/'])('refuses %j, inside the signing keys', (namespace) => {
    expect(() => validateNamespace(namespace)).toThrow(
      expect.objectContaining({ reason: 'invalid_config', message: expect.stringContaining('signing keys') }),
    );
  });
});

describe('namespaceOfEnvironment', () => {
  it('maps a label to /label/ and refuses anything else', () => {
    expect(namespaceOfEnvironment('prod')).toBe('/prod/');
    expect(namespaceOfEnvironment('Prod')).toBeUndefined();
    expect(namespaceOfEnvironment('a/b')).toBeUndefined();
    expect(namespaceOfEnvironment('')).toBeUndefined();
    expect(namespaceOfEnvironment(3)).toBeUndefined();
  });
});
