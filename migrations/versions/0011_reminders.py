"""reminders: one row per deadline (a case's reply, a thematic file's commitment) and step that
passed unanswered, unique, so that however many gateway processes and cron runs look at once each
reminder is sent exactly once; and how late an answer came (a final reply, a fulfilling progress
report).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.types

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reminders',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('thematic_file_id', sa.String(length=36), nullable=True),
    sa.Column('resource', sa.String(length=300), nullable=False),
    sa.Column('deadline', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('recipient_id', sa.String(length=63), nullable=False),
    sa.Column('recipient_unit', sa.String(length=63), nullable=False),
    sa.Column('sent_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(case_id IS NULL) <> (thematic_file_id IS NULL)', name=op.f('ck_reminders_about_one')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_reminders_case_id_cases')),
    sa.ForeignKeyConstraint(['thematic_file_id'], ['thematic_files.id'], name=op.f('fk_reminders_thematic_file_id_thematic_files')),
    sa.ForeignKeyConstraint(['recipient_id'], ['institutions.id'], name=op.f('fk_reminders_recipient_id_institutions')),
    sa.ForeignKeyConstraint(['recipient_unit'], ['units.id'], name=op.f('fk_reminders_recipient_unit_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
    sa.UniqueConstraint('resource', 'deadline', 'step', name='uq_reminders_resource_deadline_step')
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminders_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_thematic_file_id'), ['thematic_file_id'], unique=False)
    for table in ('messages', 'thematic_messages'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('late_seconds', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for table in ('thematic_messages', 'messages'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('late_seconds')
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminders_thematic_file_id'))
        batch_op.drop_index(batch_op.f('ix_reminders_case_id'))
    op.drop_table('reminders')
