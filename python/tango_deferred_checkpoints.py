"""dbt-duckdb plugin (profiles.yml): DuckDB under dbt never checkpoints, so
that everything dbt commits stays in the WAL: on the transform's work file, a
hard link of the warehouse, until the transform commits it with one rename
(pipelines/transform.ts); anywhere, until foldWal folds it in a process a
kill does not stop (pipelines/warehouse.ts). The settings come from
TANGO_DEFERRED_CHECKPOINT_SETTINGS (JSON, the same ones the pipeline's own
connections use: DEFERRED_CHECKPOINT_SETTINGS in pipelines/warehouse.ts);
unset, the plugin does nothing.
"""

import json
import os

from dbt.adapters.duckdb.plugins import BasePlugin


class Plugin(BasePlugin):
    def initialize(self, plugin_config):
        self.settings = json.loads(os.environ.get("TANGO_DEFERRED_CHECKPOINT_SETTINGS") or "{}")

    def update_connection_config(self, creds, config):
        # At connect time, so that replaying an earlier pass's WAL cannot
        # trigger a checkpoint either.
        config.update(self.settings)

    def configure_connection(self, conn):
        if self.settings:
            # Not a setting: closing would otherwise checkpoint.
            conn.execute("pragma disable_checkpoint_on_shutdown")
