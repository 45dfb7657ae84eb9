// Where the project's own pieces live, resolved from this file so that every
// command works from any working directory.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The project-local Python virtualenv with pinned dbt (made by scripts/setup.mjs). */
export const VENV_DIR = path.join(PROJECT_ROOT, '.venv');
export const DBT_EXECUTABLE = path.join(VENV_DIR, 'bin', 'dbt');
/** Raw-layer contracts and the _meta tables, as DDL. */
export const RAW_CONTRACTS_DIR = path.join(PROJECT_ROOT, 'sql', 'raw');
/** The Evidence app. */
export const REPORTS_DIR = path.join(PROJECT_ROOT, 'reports');
export const REPORT_SNAPSHOT_PATH = path.join(REPORTS_DIR, 'snapshot', 'warehouse.duckdb');
export const REPORT_BUILD_DIR = path.join(REPORTS_DIR, 'build');
/** Where `tango demo` and `tango generate` write the generated shop: sources/<domain>/ and truth/. */
export const DEMO_DIR = path.join(PROJECT_ROOT, 'data', 'demo');
