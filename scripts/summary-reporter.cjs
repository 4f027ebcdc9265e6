// Mocha's spec reporter, plus a JSON summary file for scripts/test.mjs and the reason of each skip.
const Mocha = require('mocha');
const { writeFileSync } = require('node:fs');
const { EVENT_RUN_END, EVENT_TEST_PENDING } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.on(EVENT_TEST_PENDING, (test) => {
      if (test.skipReason) console.log(`        skipped: ${test.skipReason}`);
    });
    runner.once(EVENT_RUN_END, () => {
      const file = process.env.BERTH_SUMMARY_FILE;
      if (file) writeFileSync(file, JSON.stringify(runner.stats));
    });
  }
}
module.exports = SummaryReporter;
