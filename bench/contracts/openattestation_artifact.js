// Prints the OpenAttestation DocumentStore ABI and bytecode, as compiled and shipped by
// the npm package @govtechsg/document-store, as JSON. The package's typechain factory
// imports `ethers` only to define classes; we need its constants, not ethers, so the
// import is satisfied with empty classes.
'use strict';
const Module = require('module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'ethers') return { ContractFactory: class {}, Contract: class {}, Interface: class {} };
  return load.call(this, request, ...rest);
};
const { DocumentStore__factory: f } = require(
  '@govtechsg/document-store/dist/contracts/factories/contracts/DocumentStore__factory.js');
process.stdout.write(JSON.stringify({ abi: f.abi, bytecode: f.bytecode }));
