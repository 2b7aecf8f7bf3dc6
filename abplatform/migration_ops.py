"""A migration operation that moves a model to another app without touching its table.

Django has no built-in operation for this. The usual recipe (SeparateDatabaseAndState with a
CreateModel that repeats every field in the new app and a DeleteModel in the old one) copies the
model's whole definition into a second migration; this operation moves the model's state as it
is, keeps its table (`db_table` is set to the table it already has) and points every relation in
the project state at the new home. The content type is renamed too, so admin history and the
role groups' permissions stay attached to the model.
"""

from __future__ import annotations

from django.db import migrations


class ModelMove(migrations.operations.base.Operation):
    reduces_to_sql = False
    reversible = True

    def __init__(self, name: str, from_app: str, db_table: str):
        self.name = name
        self.from_app = from_app
        self.db_table = db_table

    def deconstruct(self):
        return (
            self.__class__.__qualname__,
            [],
            {"name": self.name, "from_app": self.from_app, "db_table": self.db_table},
        )

    def _move(self, state, source: str, target: str) -> None:
        key = self.name.lower()
        model_state = state.models.pop((source, key))
        model_state.app_label = target
        model_state.options["db_table"] = self.db_table
        state.models[(target, key)] = model_state
        old_ref, new_ref = f"{source}.{key}", f"{target}.{key}"
        for other in state.models.values():
            for field_name, field in list(other.fields.items()):
                remote = getattr(field, "remote_field", None)
                if remote is None or not isinstance(remote.model, str) or remote.model.lower() != old_ref:
                    continue
                _name, _path, args, kwargs = field.deconstruct()
                kwargs["to"] = new_ref
                other.fields[field_name] = field.__class__(*args, **kwargs)
        # Relations and rendered models are derived from `models`: drop them so they are rebuilt.
        state._relations = None
        state.__dict__.pop("apps", None)

    def state_forwards(self, app_label, state):
        self._move(state, self.from_app, app_label)

    def state_backwards(self, app_label, state):
        self._move(state, app_label, self.from_app)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        _rename_content_type(schema_editor, from_state, self.from_app, app_label, self.name.lower())

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        _rename_content_type(schema_editor, from_state, app_label, self.from_app, self.name.lower())

    def describe(self) -> str:
        return f"Move model {self.name} from app {self.from_app} (table {self.db_table} kept)"


def _rename_content_type(schema_editor, state, source: str, target: str, model: str) -> None:
    try:
        content_type = state.apps.get_model("contenttypes", "ContentType")
    except LookupError:  # contenttypes not installed or not migrated yet: nothing to rename
        return
    db = schema_editor.connection.alias
    if not content_type.objects.using(db).filter(app_label=target, model=model).exists():
        content_type.objects.using(db).filter(app_label=source, model=model).update(app_label=target)
