// A second-language client, written from the README: against a live gateway over mutual TLS it
// signs and opens two cases, verifies each receipt with the JWKS (jose) and each ledger entry's
// inclusion proof, and the consistency of the two checkpoints, with its own code (verify.mjs);
// then it checks that tampered evidence is refused. Prints a JSON report; exit status 1 on any failure.
//
//   node client.mjs config.json    config: {url, ca, cert, key, signing_key, unit, gateway_id} (paths to PEM files)
import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { CompactSign, calculateJwkThumbprint, createLocalJWKSet, exportJWK, jwtVerify } from 'jose';
import {
  RECEIPT_TYPE, Refused, check, digest, gatewayKeys, noteKey, openCheckpoint, signRequest, verifyConsistency,
  verifyInclusion, verifyLedgerClaim, verifyReceipt,
} from './verify.mjs';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const agent = new https.Agent({
  keepAlive: true, ca: readFileSync(config.ca), cert: readFileSync(config.cert), key: readFileSync(config.key),
});
const report = { checks: [], rejected: [], info: {} };
const passed = (name) => report.checks.push(name);

function call(method, path, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const request = https.request(new URL(path, config.url), { method, agent, headers }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function getJson(path) {
  const response = await call('GET', path);
  check(response.status === 200, `GET ${path} answered ${response.status}: ${response.body}`);
  return JSON.parse(response.body);
}

const signingKey = createPrivateKey(readFileSync(config.signing_key));
// The registry's kid for a generated key is its RFC 7638 thumbprint: a wrong one is refused (signature-key-unknown).
const kid = await calculateJwkThumbprint(await exportJWK(createPublicKey(signingKey)));

async function openCase(number) {
  const body = Buffer.from(JSON.stringify({
    respondent_id: 'al-omrane',
    reference: `NODE/${randomUUID().slice(0, 8)}/${number}`,
    complainant: {
      full_name: 'Yasmine El Idrissi – ياسمين الإدريسي', cin: 'AB123456', address: 'Quartier Hay Riad, Rabat – حي الرياض، الرباط',
      preferred_language: 'fr',
    },
    subject: 'title_deeds',
    title: 'Titre foncier non remis – رسم عقاري لم يسلم',
    summary: "Le plaignant attend son titre foncier depuis 2022. ينتظر المشتكي رسمه العقاري منذ 2022.",
    project: { name: 'Riad Salé – رياض سلا', city: 'Salé', region: 'rabat-sale-kenitra' },
    requested_action: 'Remettre le titre foncier ou indiquer un délai.',
  }));
  const target = '/v1/cases';
  const signature = await signRequest({ key: signingKey, kid, unit: config.unit, audience: config.gateway_id, method: 'POST', target, body });
  const response = await call('POST', target, {
    body,
    headers: {
      'Content-Type': 'application/json', 'Content-Digest': digest(body), 'Request-Signature': signature, 'Idempotency-Key': randomUUID(),
    },
  });
  check(response.status === 201, `POST /v1/cases answered ${response.status}: ${response.body}`);
  return { body, target, signature, receipt: response.headers.receipt, location: response.headers.location };
}

const jwks = await getJson('/.well-known/jwks.json');
const receiptKeys = gatewayKeys(jwks, config.gateway_id);
const ledgerKey = await getJson('/v1/ledger/key');
const log = noteKey(ledgerKey.note_key);
check(log.name === ledgerKey.origin, 'the verifier key is named by the origin');
check(jwks.keys.some((key) => key.owner === config.gateway_id && key.note_key === ledgerKey.note_key), 'the JWKS publishes the same ledger key');
passed('ledger-key');

async function accepted(opened) {
  const claims = await verifyReceipt(opened.receipt, receiptKeys, config.gateway_id);
  check(claims.kind === 'acceptance' && claims.sub === config.unit && claims.htm === 'POST' && claims.htu === opened.target,
    'the receipt names this request');
  check(claims.req_dig === digest(opened.body) && claims.sig_dig === digest(Buffer.from(opened.signature)),
    'the receipt covers our body and our signature');
  check(opened.location === claims.resource, 'the receipt names the case created');
  const { checkpoint, leaf } = verifyLedgerClaim(claims.ledger, log);
  const { entry } = claims.ledger;
  check(entry.kind === 'case_opened' && entry.sender_unit === config.unit && entry.resource === claims.resource, 'the entry is this case opening');
  check(entry.payload_digest === claims.req_dig && entry.signature_digest === claims.sig_dig, 'the entry binds our body and signature');
  return { token: opened.receipt, claims, checkpoint, leaf };
}

const first = await accepted(await openCase(1));
passed('receipt-verifies-with-jwks');
passed('inclusion-in-receipt-checkpoint');
const second = await accepted(await openCase(2));
check(second.checkpoint.size > first.checkpoint.size, 'the second entry comes later');

const latest = await getJson('/v1/ledger/checkpoint');
const head = openCheckpoint(latest.note, log);
check(head.size === latest.size && head.size >= second.checkpoint.size, 'the latest checkpoint is at least the second receipt\'s');
const inclusion = await getJson(`/v1/ledger/proof/inclusion?size=${head.size}&index=${first.claims.ledger.index}`);
check(inclusion.leaf_hash === first.leaf.toString('hex'), 'the gateway hashes the entry as we do');
const proof = (document) => document.proof.map((node) => Buffer.from(node, 'base64'));
verifyInclusion(first.claims.ledger.index, head.size, first.leaf, proof(inclusion), head.root);
passed('inclusion-in-latest-checkpoint');
const consistency = await getJson(`/v1/ledger/proof/consistency?first=${first.checkpoint.size}&second=${head.size}`);
verifyConsistency(first.checkpoint.size, head.size, proof(consistency), first.checkpoint.root, head.root);
passed('consistency-of-checkpoints');

// Tampered evidence: each must be refused.
async function refuses(name, attempt) {
  try {
    await attempt();
  } catch (error) {
    report.rejected.push(name);
    return;
  }
  throw new Refused(`tampered evidence was accepted: ${name}`);
}

const [header, , signature] = first.token.split('.');
const withClaims = (claims) => `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
await refuses('receipt-claim-changed', () => verifyReceipt(withClaims({ ...first.claims, sub: 'al-omrane' }), receiptKeys, config.gateway_id));
const flipped = Buffer.from(signature, 'base64url');
flipped[0] ^= 1;
await refuses('receipt-signature-changed', () => verifyReceipt(`${header}.${first.token.split('.')[1]}.${flipped.toString('base64url')}`,
  receiptKeys, config.gateway_id));
const forged = await new CompactSign(Buffer.from(JSON.stringify(first.claims)))
  .setProtectedHeader({ alg: 'ES256', kid, typ: RECEIPT_TYPE }).sign(signingKey);
await refuses('receipt-forged-with-a-request-key', () => verifyReceipt(forged, receiptKeys, config.gateway_id));
try { // what a verifier that trusts the whole published set would do (issue 14, key confusion): reported, not judged
  await jwtVerify(forged, createLocalJWKSet(jwks), { issuer: config.gateway_id, typ: RECEIPT_TYPE });
  report.info.whole_jwks_accepts_a_receipt_forged_with_a_request_key = true;
} catch {
  report.info.whole_jwks_accepts_a_receipt_forged_with_a_request_key = false;
}
const claim = first.claims.ledger;
await refuses('entry-changed', () => verifyLedgerClaim({ ...claim, entry: { ...claim.entry, detail: 'other_subject' } }, log));
await refuses('index-changed', () => verifyLedgerClaim({ ...claim, index: claim.index + 1 }, log));
const changedNode = Buffer.from(claim.inclusion[0], 'base64');
changedNode[0] ^= 1;
await refuses('inclusion-proof-changed', () => verifyLedgerClaim({ ...claim, inclusion: [changedNode.toString('base64'), ...claim.inclusion.slice(1)] }, log));
await refuses('inclusion-proof-too-long', () => verifyLedgerClaim({ ...claim, inclusion: [...claim.inclusion, claim.inclusion[0]] }, log));
const rootLine = claim.checkpoint.split('\n')[2];
await refuses('checkpoint-root-changed', () => verifyLedgerClaim({
  ...claim, checkpoint: claim.checkpoint.replace(rootLine, second.checkpoint.root.toString('base64')),
}, log));
const wrongRoot = Buffer.from(head.root);
wrongRoot[31] ^= 1;
await refuses('consistency-to-another-root', () => verifyConsistency(first.checkpoint.size, head.size, proof(consistency),
  first.checkpoint.root, wrongRoot));

agent.destroy();
process.stdout.write(`${JSON.stringify(report)}\n`);
