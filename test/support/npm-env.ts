/**
 * What a child `npm` needs from this process's environment to reach the registry: the CA bundle
 * and proxy settings of the machine. Tests that run npm in a clean environment (so nothing of the
 * repository's own install helps) must still pass these: without NODE_EXTRA_CA_CERTS, npm under
 * Node 24 (node_modules/.bin/node, first on PATH under `npm test`) fails every request on these
 * machines with SELF_SIGNED_CERT_IN_CHAIN (checked by hand: `npm view` of any package), which a
 * warm npm cache hides because nothing is fetched.
 */
const PASSED = [
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "npm_config_registry",
  "npm_config_cafile",
  "npm_config_strict_ssl",
];

export function npmNetworkEnv(): Record<string, string> {
  return Object.fromEntries(
    PASSED.flatMap((name) => {
      const value = process.env[name];
      return value === undefined ? [] : [[name, value]];
    }),
  );
}
