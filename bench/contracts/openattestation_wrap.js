// Times OpenAttestation's own wrapping (npm @govtechsg/open-attestation, `wrapDocuments`,
// schema v2) on the OA data objects read as a JSON array from stdin: one warm-up wrap of
// a few documents, then the whole array as one batch, timed inside node (no process
// start, no JSON transfer). Prints {"documents": n, "seconds": s, "merkleRoot": root}.
'use strict';
const oa = require('@govtechsg/open-attestation');
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const documents = JSON.parse(input);
  oa.wrapDocuments(documents.slice(0, 10));
  const started = process.hrtime.bigint();
  const wrapped = oa.wrapDocuments(documents);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({
    documents: wrapped.length, seconds, merkleRoot: wrapped[0].signature.merkleRoot,
  }));
});
