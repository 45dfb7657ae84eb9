// Prints the fault suite's summary after a run that included it: per class,
// the cases tried and passed, and what each case checks.
import type { Reporter, TestModule, TestSuite } from 'vitest/node';

interface ClassSummary {
  name: string;
  checked: string;
  tried: number;
  passed: number;
}

export default class FaultSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const classes: ClassSummary[] = [];
    for (const module of testModules) {
      for (const suite of module.children.suites()) {
        const meta = suite.meta();
        // A class whose beforeAll did not run (filtered out) carries no meta.
        if (!meta.faultClass) continue;
        const tests = [...(suite as TestSuite).children.allTests()];
        classes.push({
          name: meta.faultClass,
          checked: meta.checked ?? '',
          tried: tests.filter((test) => test.result().state !== 'skipped').length,
          passed: tests.filter((test) => test.result().state === 'passed').length,
        });
      }
    }
    if (!classes.length) return;
    const nameWidth = Math.max(5, ...classes.map((row) => row.name.length));
    const line = (name: string, tried: string, passed: string, checked: string) =>
      `${name.padEnd(nameWidth)}  ${tried.padStart(5)}  ${passed.padStart(6)}  ${checked}`;
    const total = classes.reduce((sum, row) => ({ tried: sum.tried + row.tried, passed: sum.passed + row.passed }), { tried: 0, passed: 0 });
    const output = [
      '',
      'Fault suite',
      line('class', 'tried', 'passed', 'what each case checks'),
      ...classes.map((row) => line(row.name, String(row.tried), String(row.passed), row.checked)),
      line('all', String(total.tried), String(total.passed), ''),
      '',
    ];
    process.stdout.write(output.join('\n') + '\n');
  }
}
