// The conformance vectors (conformance/*.json) checked with this client's own code: request
// signatures, receipts and their ledger claims, canonical entries and leaf hashes (non-ASCII
// included), every Merkle proof, checkpoints and the cosignature. Prints the counts; exit 1 on any failure.
//
//   node vectors.mjs ../../conformance
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet } from 'jose';
import {
  REQUEST_TYPE, canonical, check, digest, gatewayKeys, leafHash, noteKey, openCheckpoint, verifyConsistency, verifyInclusion,
  verifyLedgerClaim, verifyReceipt, verifyCosignature,
} from './verify.mjs';

const directory = process.argv[2];
const load = (name) => JSON.parse(readFileSync(join(directory, name), 'utf8'));
const counts = {};
const count = (name) => { counts[name] = (counts[name] ?? 0) + 1; };

const keys = load('keys.json');
const gatewayId = keys.gateway_id;
const log = noteKey(keys.ledger_key.note_key);

for (const vector of load('request-signatures.json').valid) {
  const body = Buffer.from(vector.body_base64, 'base64');
  check(digest(body) === vector.content_digest && vector.claims.dig === vector.content_digest, `${vector.name}: the body digest`);
  const disposition = vector.headers['Content-Disposition'];
  if (disposition) {
    check(vector.claims.hdr['content-disposition'] === digest(Buffer.from(disposition, 'latin1')), `${vector.name}: the hdr digest`);
  }
  const requestKeys = createLocalJWKSet({ keys: keys.jwks.keys.filter((key) => key.owner === vector.unit) });
  const { payload, protectedHeader } = await compactVerify(vector.jws, requestKeys, { algorithms: ['ES256'] });
  check(protectedHeader.typ === REQUEST_TYPE && JSON.stringify(JSON.parse(new TextDecoder().decode(payload))) === JSON.stringify(vector.claims), `${vector.name}: the claims`);
  count('request signatures');
}

for (const vector of load('receipts.json').receipts) {
  const claims = await verifyReceipt(vector.jws, gatewayKeys(keys.jwks, gatewayId), gatewayId);
  check(JSON.stringify(claims) === JSON.stringify(vector.claims), `${vector.name}: the claims`);
  if (claims.ledger) {
    verifyLedgerClaim(claims.ledger, log);
    check(claims.ledger.entry.signature_digest === claims.sig_dig, `${vector.name}: the entry binds the request's signature`);
  }
  count('receipts');
}

for (const vector of load('ledger-entries.json').entries) {
  const bytes = Buffer.from(canonical(vector.entry));
  check(bytes.toString('hex') === vector.canonical_hex, `${vector.name}: the canonical bytes`);
  check(leafHash(bytes).toString('hex') === vector.leaf_hash_hex, `${vector.name}: the leaf hash`);
  count('ledger entries');
}

const tree = load('merkle.json');
const hex = (values) => values.map((value) => Buffer.from(value, 'hex'));
const roots = hex(tree.roots.map((root) => root.root_hex));
const leaves = tree.leaves_hex.map((leaf) => leafHash(Buffer.from(leaf, 'hex')));
for (const { index, size, proof_hex: proof } of tree.inclusion) {
  verifyInclusion(index, size, leaves[index], hex(proof), roots[size]);
  count('inclusion proofs');
}
for (const { first, second, proof_hex: proof } of tree.consistency) {
  verifyConsistency(first, second, hex(proof), roots[first], roots[second]);
  count('consistency proofs');
}

const notes = load('checkpoints.json');
for (const item of notes.checkpoints) {
  const checkpoint = openCheckpoint(item.note, log);
  check(checkpoint.size === item.size && checkpoint.root.toString('hex') === item.root_hex, `checkpoint ${item.size}`);
  count('checkpoints');
}
const { cosignature } = notes;
check(verifyCosignature(cosignature.cosigned_note, noteKey(cosignature.note_key)) === cosignature.timestamp, 'the cosignature');
count('cosignatures');

process.stdout.write(`${JSON.stringify(counts)}\n`);
