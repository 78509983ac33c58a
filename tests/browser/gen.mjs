// Deterministic test content, shared by Node (to compute the expected sha256) and the
// browser page (to build the Files it uploads): one source, so both sides agree byte
// for byte. xorshift32 seeded with FNV-1a of a seed string (we use "name:size").

export function seedOf(text) {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  }
  return h || 1; // xorshift must not start at 0
}

export function makeBytes(seed, size) {
  const out = new Uint8Array(size);
  let x = seedOf(seed);
  for (let i = 0; i < size; i += 4) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out[i] = x & 0xff;
    if (i + 1 < size) out[i + 1] = (x >>> 8) & 0xff;
    if (i + 2 < size) out[i + 2] = (x >>> 16) & 0xff;
    if (i + 3 < size) out[i + 3] = x >>> 24;
  }
  return out;
}

/** The seed a test file's bytes come from. */
export function seedFor(spec) {
  return `${spec.path ?? spec.name}:${spec.size}`;
}

/** Both libraries' default identifier: size, then the name stripped to [0-9A-Za-z_-]. */
export function defaultIdentifier(name, size) {
  return `${size}-${name.replace(/[^0-9a-zA-Z_-]/gim, '')}`;
}
