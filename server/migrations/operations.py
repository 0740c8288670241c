"""Hand-written migration operations shared by the apps' migrations."""

from typing import Any

from tortoise.migrations import operations as ops


class AddColumnIndex(ops.AlterField):
    """AlterField in the migration state, but only CREATE INDEX in the database.

    On SQLite, Tortoise's AlterField rebuilds the whole table (copy, drop,
    rename) and the rebuilt table loses every other index it had (here at,
    event and member_id of the audit log); a plain CREATE INDEX, with the name
    Tortoise itself would give it, changes nothing else and copies nothing.
    """

    def _index_name(self, editor: Any, model: Any) -> str:
        return str(editor._generate_index_name("idx", model, [self.name]))

    async def database_forward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if not state_editor:
            return
        model = new_state.apps.get_model(f"{app_label}.{self.model_name}")
        await state_editor._run_sql(state_editor._get_index_sql(model, [self.name]))

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if not state_editor:
            return
        model = new_state.apps.get_model(f"{app_label}.{self.model_name}")
        name = self._index_name(state_editor, model)
        await state_editor._run_sql(state_editor.DROP_INDEX_TEMPLATE.format(name=name))


class DescribeEnum(ops.AlterField):
    """AlterField in the migration state only: new members of a CharEnumField's enum.

    The column (a varchar long enough for the new values) takes them as it
    is; on SQLite, Tortoise's AlterField would rebuild the table and lose its
    other indexes.
    """

    async def database_forward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        return None

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        return None
