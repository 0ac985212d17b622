/** TLS interception: the local CA, minted certificates, the rules, and the two handshakes. */
export { createCa, loadCa, checkKeyMode, type CaFiles, type LoadedCa, type CreateCaOptions } from './ca.js';
export { CertificateAuthority, certificateName, type Leaf } from './authority.js';
export { TlsInterceptor, createTlsInterceptor, caFiles, hostMatches, type TlsDecision, type TlsTarget } from './interceptor.js';
export { connectUpstreamTls, acceptClientTls, TlsRefusal, type UpstreamTlsOptions, type ClientTlsOptions } from './handshake.js';
export { TlsSchema, TlsRuleSchema, type TlsConfig, type TlsRule, type TlsAction, type UpstreamVerifyMode } from './schema.js';
