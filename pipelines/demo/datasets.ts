// The data sets `tango demo --dataset` runs on. `synthetic` is the generator's
// made-up shop; the others are real public data in ../shared/data/public (or
// $TANGO_PUBLIC_DATA), each mapped into the raw contracts by a config file in
// datasets/ with its own warehouse under data/datasets/<name>/.
import path from 'node:path';

import { PROJECT_ROOT } from '../paths.ts';

export const DATASETS = {
  synthetic: 'the generated demo shop (CRM, web and email; ground truth in data/demo/truth)',
  cdnow: 'CDNOW master: 69,659 CD purchases by the 23,570 customers of the 1997-Q1 cohort (orders only)',
  'online-retail': 'UCI Online Retail, per invoice: 25,943 invoices and credit notes of a UK gift shop, 2010-2011 (orders and refunds)',
  'jaffle-shop': "dbt's jaffle_shop seeds: 100 customers, 99 orders, 113 payments (amounts in cents)",
} as const;

export type DatasetName = keyof typeof DATASETS;
export const DATASET_NAMES = Object.keys(DATASETS) as DatasetName[];

/** The config file that maps a public data set into the raw contracts. */
export function datasetConfigFile(name: Exclude<DatasetName, 'synthetic'>): string {
  return path.join(PROJECT_ROOT, 'datasets', `${name}.yaml`);
}
