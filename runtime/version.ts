// The runtime's own version, checked against each bundle's runtime requirement (SUIT-style).
export const RUNTIME_VERSION = '0.1.0';
