"""personal data sealed per case: complainant fields and the signed opening body, encrypted with a
data key per case wrapped by the master key. Existing rows are sealed here, with the master key that
`gateway migrate` hands over, before the plaintext columns are dropped; nothing is lost.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 08:19:42.392034
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.types
from gateway.security.encryption import new_data_key, seal, wrap
revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('case_keys',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('master_key_id', sa.String(length=16), nullable=True),
    sa.Column('wrapped', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_keys_case_id_cases')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_keys'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('complainant_sealed', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('signed_body_sealed', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('personal_data_erased_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=True))
    seal_existing_rows()
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('complainant')
        batch_op.drop_column('signed_body')


def seal_existing_rows() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, complainant, signed_body FROM cases")).all()
    if not rows:
        return
    master = op.get_context().config.attributes.get("master_key")
    if master is None:
        raise RuntimeError("cases exist: run `gateway migrate` with the master key (GATEWAY_MASTER_KEY or its file) to seal them")
    for case_id, complainant, signed_body in rows:
        data_key = new_data_key()
        complainant_text = complainant if isinstance(complainant, str) else json.dumps(complainant, ensure_ascii=False)
        connection.execute(
            sa.text("INSERT INTO case_keys (case_id, master_key_id, wrapped) VALUES (:id, :master, :wrapped)"),
            {"id": case_id, "master": master.id, "wrapped": wrap(master, data_key, case_id)},
        )
        connection.execute(
            sa.text("UPDATE cases SET complainant_sealed = :complainant, signed_body_sealed = :body WHERE id = :id"),
            {
                "id": case_id,
                "complainant": seal(data_key, complainant_text.encode(), f"case:{case_id}:complainant"),
                "body": seal(data_key, signed_body.encode(), f"case:{case_id}:signed_body") if signed_body else None,
            },
        )


def downgrade() -> None:
    # Downgrading cannot restore personal data without decrypting it: refuse rather than lose it.
    raise RuntimeError("0005 cannot be downgraded: personal data is sealed")
