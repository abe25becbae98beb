// mocha's spec reporter, closing with one plain "N passed, N failed, N skipped" line that CI
// tooling reads whatever the test runner.
'use strict';
const { reporters } = require('mocha');

class SpecWithTotals extends reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      const { passes, failures, pending } = runner.stats;
      process.stdout.write(`${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = SpecWithTotals;
