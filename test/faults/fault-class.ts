// The fault suite's classes: each is a describe block whose name and
// description of what it checks the summary reporter prints.
import { beforeAll, describe } from 'vitest';

declare module 'vitest' {
  interface TaskMeta {
    faultClass?: string;
    checked?: string;
  }
}

export function faultClass(name: string, checked: string, cases: () => void): void {
  describe(name, () => {
    beforeAll(({}, suite) => {
      suite.meta.faultClass = name;
      suite.meta.checked = checked;
    });
    cases();
  });
}
