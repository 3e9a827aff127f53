import { GastownError } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { isAllowedControlPlaneUrl } from '../../src/town/control-plane-url';
import { loadTownSettings } from '../../src/town/town-settings';

describe('the control-plane URL handed to containers: https, or http to loopback only', () => {
  it.each([
    { name: 'https', url: 'https://gastown.example.com', allowed: true },
    { name: 'https with a port and a path', url: 'https://gastown.example.com:8443/base', allowed: true },
    { name: 'https to an address', url: 'https://203.0.113.7', allowed: true },
    { name: 'http to 127.0.0.1', url: 'http://127.0.0.1:8787', allowed: true },
    { name: 'http to elsewhere in 127.0.0.0/8', url: 'http://127.45.6.7:8787', allowed: true },
    { name: 'http to a short spelling of 127.0.0.1', url: 'http://127.1:8787', allowed: true },
    { name: 'http to ::1', url: 'http://[::1]:8787', allowed: true },
    { name: 'http to localhost', url: 'http://localhost:8787', allowed: true },
    { name: 'http to LOCALHOST', url: 'http://LOCALHOST:8787', allowed: true },
    { name: 'http to a name', url: 'http://gastown.example.com', allowed: false },
    { name: 'http to a public address', url: 'http://203.0.113.7:8787', allowed: false },
    { name: 'http to a private address', url: 'http://10.0.0.5:8787', allowed: false },
    { name: 'http to 0.0.0.0', url: 'http://0.0.0.0:8787', allowed: false },
    { name: 'http to 128.0.0.1', url: 'http://128.0.0.1', allowed: false },
    { name: 'http to a name that starts like loopback', url: 'http://127.0.0.1.example.com', allowed: false },
    { name: 'http to a name that ends like localhost', url: 'http://evil-localhost', allowed: false },
    { name: 'http to a localhost subdomain', url: 'http://localhost.example.com', allowed: false },
    { name: 'http to an IPv4-mapped loopback', url: 'http://[::ffff:127.0.0.1]', allowed: false },
    { name: 'ws', url: 'ws://127.0.0.1:8787', allowed: false },
    { name: 'ftp', url: 'ftp://gastown.example.com', allowed: false },
    { name: 'no URL', url: 'not a url', allowed: false },
  ])('$name → $allowed', ({ url, allowed }) => {
    expect(isAllowedControlPlaneUrl(url)).toBe(allowed);
  });

  it.each([
    { name: 'http to a name', url: 'http://gastown.example.com' },
    { name: 'http to a private address', url: 'http://10.0.0.5:8787' },
  ])('GASTOWN_PUBLIC_URL $name → config_invalid at startup, naming the variable, never the value', ({ url }) => {
    const caught = (() => {
      try {
        loadTownSettings({ GASTOWN_PUBLIC_URL: url });
        return null;
      } catch (err) {
        return err;
      }
    })();
    expect(caught).toBeInstanceOf(GastownError);
    expect((caught as GastownError).code).toBe('config_invalid');
    expect((caught as GastownError).message).toContain('GASTOWN_PUBLIC_URL');
    expect((caught as GastownError).message).toContain('https');
    expect((caught as GastownError).message).not.toContain(url);
  });

  it.each([
    { url: 'http://127.0.0.1:8787/', expected: 'http://127.0.0.1:8787' },
    { url: 'http://localhost:8787', expected: 'http://localhost:8787' },
    { url: 'https://gastown.example.com/', expected: 'https://gastown.example.com' },
  ])('GASTOWN_PUBLIC_URL $url is accepted', ({ url, expected }) => {
    expect(loadTownSettings({ GASTOWN_PUBLIC_URL: url }).publicUrl).toBe(expected);
  });
});
