// What a JavaScript integrator needs to check the gateway's evidence, written from the README:
// RFC 9530 digests, the request signature, receipts (jose), the ledger entry's canonical bytes,
// RFC 9162 Merkle proofs and C2SP signed notes (node:crypto). Pure: no I/O.
import { createHash, createPublicKey, randomUUID, verify as cryptoVerify } from 'node:crypto';
import { CompactSign, createLocalJWKSet, jwtVerify } from 'jose';

export const REQUEST_TYPE = 'gateway-request+jwt';
export const RECEIPT_TYPE = 'gateway-receipt+jwt';

export class Refused extends Error {}

export function check(condition, why) {
  if (!condition) throw new Refused(why);
}

const sha256 = (...parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** RFC 9530 digest field of `bytes`: `sha-256=:<padded standard base64>:`. */
export const digest = (bytes) => `sha-256=:${sha256(Buffer.from(bytes)).toString('base64')}:`;

/** The Request-Signature JWS for one request; `iat` an integer number of seconds. */
export async function signRequest({ key, kid, unit, audience, method, target, body, headers = {}, now = Date.now() }) {
  const claims = {
    iss: unit, aud: audience, htm: method, htu: target, iat: Math.floor(now / 1000), jti: randomUUID(), dig: digest(body),
  };
  const signed = Object.entries(headers).map(([name, value]) => [name.toLowerCase(), digest(Buffer.from(value, 'latin1'))]);
  if (signed.length) claims.hdr = Object.fromEntries(signed);
  return new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES256', kid, typ: REQUEST_TYPE }).sign(key);
}

/** The gateway's own receipt keys in a published JWK Set: the set also holds the institutions'
 *  request keys, and a receipt signed with one of those must not verify. */
export const gatewayKeys = (jwks, gatewayId) => createLocalJWKSet({
  keys: jwks.keys.filter((key) => key.owner === gatewayId && key.kty === 'EC'),
});

/** A receipt's claims if one of the gateway's keys signed it (jose), with the documented header. */
export async function verifyReceipt(token, keys, gatewayId) {
  const { payload, protectedHeader } = await jwtVerify(token, keys, { algorithms: ['ES256'], issuer: gatewayId, typ: RECEIPT_TYPE });
  check(Object.keys(protectedHeader).sort().join() === 'alg,kid,typ', 'the receipt header holds alg, kid and typ only');
  return payload;
}

const byCodePoint = (a, b) => {
  const [x, y] = [[...a], [...b]];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i].codePointAt(0) - y[i].codePointAt(0);
  }
  return x.length - y.length;
};

const SHORT_ESCAPES = { 0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };

function quote(text) {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i); // a UTF-16 code unit: a character outside the BMP is two escapes
    if (SHORT_ESCAPES[unit]) out += SHORT_ESCAPES[unit];
    else if (unit < 0x20 || unit > 0x7e) out += `\\u${unit.toString(16).padStart(4, '0')}`;
    else out += text[i];
  }
  return `${out}"`;
}

/** The canonical encoding of a ledger entry: keys sorted by code point, no whitespace, everything
 *  outside printable ASCII escaped as lowercase \uXXXX, integers in decimal. */
export function canonical(value) {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    check(Number.isSafeInteger(value), 'an entry holds integers only');
    return String(value);
  }
  if (typeof value === 'string') return quote(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value).sort(byCodePoint).map((key) => `${quote(key)}:${canonical(value[key])}`).join(',')}}`;
}

export const leafHash = (bytes) => sha256(Buffer.from([0]), bytes);
const nodeHash = (left, right) => sha256(Buffer.from([1]), left, right);
const half = (n) => Math.floor(n / 2);
const odd = (n) => n % 2 === 1;

/** RFC 9162 §2.1.3.2: the root an inclusion proof gives for `leaf` at `index` in a tree of `size`. */
export function rootFromInclusion(index, size, leaf, proof) {
  check(index < size, 'the index is outside the tree');
  let [fn, sn, result] = [index, size - 1, leaf];
  for (const node of proof) {
    check(sn !== 0, 'the inclusion proof is too long');
    if (odd(fn) || fn === sn) {
      result = nodeHash(node, result);
      while (!odd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      result = nodeHash(result, node);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  check(sn === 0, 'the inclusion proof is too short');
  return result;
}

export function verifyInclusion(index, size, leaf, proof, root) {
  check(rootFromInclusion(index, size, leaf, proof).equals(root), 'the inclusion proof leads to another root');
}

/** RFC 9162 §2.1.4.2: the tree of `second` leaves (root2) extends the tree of `first` (root1). */
export function verifyConsistency(first, second, proof, root1, root2) {
  check(first >= 1 && first <= second, 'sizes out of order');
  if (first === second) {
    check(proof.length === 0 && root1.equals(root2), 'equal sizes need equal roots and no proof');
    return;
  }
  check(proof.length > 0, 'the consistency proof is empty');
  const path = (first & (first - 1)) === 0 ? [root1, ...proof] : [...proof];
  let [fn, sn] = [first - 1, second - 1];
  while (odd(fn)) [fn, sn] = [half(fn), half(sn)];
  let [fr, sr] = [path[0], path[0]];
  for (const node of path.slice(1)) {
    check(sn !== 0, 'the consistency proof is too long');
    if (odd(fn) || fn === sn) {
      [fr, sr] = [nodeHash(node, fr), nodeHash(node, sr)];
      while (!odd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      sr = nodeHash(sr, node);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  check(sn === 0 && fr.equals(root1) && sr.equals(root2), 'the consistency proof does not link the two roots');
}

/** A C2SP verifier key `<name>+<hex key id>+<base64(type || key)>`; its base64 may hold `+`. */
export function noteKey(vkey) {
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  check(first > 0 && second > first, 'malformed verifier key');
  const [name, id, material] = [vkey.slice(0, first), vkey.slice(first + 1, second), Buffer.from(vkey.slice(second + 1), 'base64')];
  check(material.length === 33 && (material[0] === 0x01 || material[0] === 0x04), 'not an Ed25519 verifier key');
  const keyId = sha256(Buffer.from(`${name}\n`), material).subarray(0, 4);
  check(keyId.toString('hex') === id, "the verifier key's id does not match its key");
  const x = material.subarray(1).toString('base64url');
  return { name, type: material[0], keyId, key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }) };
}

/** A signed note's body and signature lines (c2sp.org/signed-note). */
function parseNote(text) {
  const split = text.lastIndexOf('\n\n');
  check(split > 0 && text.endsWith('\n'), 'a note is a body, a blank line and signature lines');
  const signatures = text.slice(split + 2, -1).split('\n').map((line) => {
    check(line.startsWith('\u2014 '), 'malformed signature line');
    const space = line.lastIndexOf(' ');
    const raw = Buffer.from(line.slice(space + 1), 'base64');
    return { name: line.slice(2, space), keyId: raw.subarray(0, 4), signature: raw.subarray(4) };
  });
  return { body: text.slice(0, split + 1), signatures };
}

const signedBy = (signatures, key) => signatures.filter((s) => s.name === key.name && s.keyId.equals(key.keyId));

/** The checkpoint a note holds, if the log's key signed it: origin, size and root hash. */
export function openCheckpoint(text, log) {
  const { body, signatures } = parseNote(text);
  const mine = signedBy(signatures, log);
  check(mine.length === 1 && cryptoVerify(null, Buffer.from(body), log.key, mine[0].signature), 'the checkpoint is not signed by the log');
  const [origin, size, root] = body.slice(0, -1).split('\n');
  check(origin === log.name && /^(0|[1-9][0-9]*)$/.test(size), 'malformed checkpoint');
  const rootHash = Buffer.from(root, 'base64');
  check(rootHash.length === 32, 'the root hash is not 32 bytes');
  return { origin, size: Number(size), root: rootHash, body };
}

/** The time a witness cosigned the note (c2sp.org/tlog-cosignature, version 1). */
export function verifyCosignature(text, witness) {
  const { body, signatures } = parseNote(text);
  const [cosigned] = signedBy(signatures, witness);
  check(cosigned && cosigned.signature.length === 72, 'no cosignature of this witness');
  const time = cosigned.signature.readBigUInt64BE(0);
  const message = Buffer.from(`cosignature/v1\ntime ${time}\n${body}`);
  check(cryptoVerify(null, message, witness.key, cosigned.signature.subarray(8)), 'the cosignature does not verify');
  return Number(time);
}

/** A receipt's `ledger` claim: the entry is in the tree of the checkpoint the claim carries. */
export function verifyLedgerClaim(claim, log) {
  const checkpoint = openCheckpoint(claim.checkpoint, log);
  const leaf = leafHash(Buffer.from(canonical(claim.entry)));
  verifyInclusion(claim.index, checkpoint.size, leaf, claim.inclusion.map((node) => Buffer.from(node, 'base64')), checkpoint.root);
  return { checkpoint, leaf };
}
