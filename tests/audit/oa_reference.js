// Cross-check helper for tests/audit/test_openattestation.py: runs the reference
// implementation (@govtechsg/open-attestation, npm) on JSON read from stdin.
//   {"op": "verify", "document": wrapped}        -> {"valid": bool, "schema": bool}
//   {"op": "wrap", "documents": [data, ...]}      -> [wrapped, ...]
//   {"op": "obfuscate", "document": w, "fields": [...]} -> wrapped
'use strict';
const oa = require('@govtechsg/open-attestation');
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const request = JSON.parse(input);
  let out;
  if (request.op === 'verify') {
    out = { valid: oa.verifySignature(request.document), schema: oa.validateSchema(request.document) };
  } else if (request.op === 'wrap') {
    out = oa.wrapDocuments(request.documents);
  } else if (request.op === 'obfuscate') {
    out = oa.obfuscateDocument(request.document, request.fields);
  } else {
    throw new Error(`unknown op ${request.op}`);
  }
  process.stdout.write(JSON.stringify(out));
});
