// Every source kind the config may name. Adding a kind is one line here.
import { crmApi } from './crm_api/index.ts';
import { crmFiles } from './crm_files/index.ts';
import { crmHubspot } from './crm_hubspot/index.ts';
import { crmPostgres } from './crm_postgres/index.ts';
import { emailApi } from './email_api/index.ts';
import { emailFiles } from './email_files/index.ts';
import { emailMailchimp } from './email_mailchimp/index.ts';
import type { SourceKindDefinition } from './types.ts';
import { webFiles } from './web_files/index.ts';

export const SOURCE_KIND_REGISTRY = {
  crm_files: crmFiles,
  crm_postgres: crmPostgres,
  crm_api: crmApi,
  crm_hubspot: crmHubspot,
  web_files: webFiles,
  email_files: emailFiles,
  email_api: emailApi,
  email_mailchimp: emailMailchimp,
} satisfies Record<string, SourceKindDefinition>;

export type SourceKind = keyof typeof SOURCE_KIND_REGISTRY;
export const SOURCE_KINDS = Object.keys(SOURCE_KIND_REGISTRY) as [SourceKind, ...SourceKind[]];
