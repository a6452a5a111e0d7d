// Independent check for tests/audit/test_oa_verify.py: runs @govtechsg/oa-verify (npm, the
// verifier TradeTrust / OpenAttestation tools use) on OA v2 documents read from stdin:
//   {"rpcUrl": "http://127.0.0.1:PORT", "chainId": N, "documents": [wrapped, ...]}
// and prints, per document, the fragments as {name, type, status, reason}.
//
// Only two verifiers run: openAttestationHash (integrity, incl. obfuscated fields) and
// openAttestationEthereumDocumentStoreStatus (isIssued(root) / isRevoked(hashes) on the
// documentStore the document names). The DNS identity verifiers are left out on purpose:
// identity is a DNS-TXT record, which cannot be checked offline.
//
// The provider is passed explicitly (oa-verify only builds its default Infura provider when
// none is given), as an ethers v5 StaticJsonRpcProvider on the loopback URL with a static
// network, so it never asks anything but that node. Checked by hand once with
// `strace -f -e trace=connect` around the test run: the node process connected to 127.0.0.1
// (the test's anvil port) only, no DNS lookups, no other address.
'use strict';
const { ethers } = require('ethers');
const {
  verificationBuilder,
  openAttestationHash,
  openAttestationEthereumDocumentStoreStatus,
} = require('@govtechsg/oa-verify');

async function main(request) {
  const url = new URL(request.rpcUrl);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
    throw new Error(`refusing a non-loopback RPC URL: ${request.rpcUrl}`);
  }
  const provider = new ethers.providers.StaticJsonRpcProvider(request.rpcUrl, {
    chainId: request.chainId,
    name: 'cie-ledger',
  });
  const verify = verificationBuilder(
    [openAttestationHash, openAttestationEthereumDocumentStoreStatus],
    { provider },
  );
  const results = [];
  for (const document of request.documents) {
    const fragments = await verify(document);
    results.push(
      fragments.map((f) => ({ name: f.name, type: f.type, status: f.status, reason: f.reason || null })),
    );
  }
  return results;
}

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  main(JSON.parse(input)).then(
    (out) => process.stdout.write(JSON.stringify(out)),
    (error) => {
      process.stderr.write(`${error.stack || error}\n`);
      process.exit(1);
    },
  );
});
