"""units: each institution's head office and regional units; cases, inbox events and ledger
entries name them; a case's project region is a code of the closed list of Morocco's regions.

Everything that existed belongs to the head offices: a head office's unit id is its institution's
id, so inbox counters and events carry on unchanged. Regions written as a name (French, Arabic or
the code, however accented or spaced) become their code; any other text is kept as it was written
(the API reports it as no region) and such a case stays with the head office. Ledger entries are
never rewritten: those written before are version 1 and keep their encoding (imr_alomrane_gateway_client.ledger.entry).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from imr_alomrane_gateway_client.regions import region_named

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('units',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('institution_id', sa.String(length=63), nullable=False),
    sa.Column('name_fr', sa.String(length=200), nullable=False),
    sa.Column('name_ar', sa.String(length=200), nullable=False),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.Column('head_office', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_units_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units'))
    )
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_units_institution_id'), ['institution_id'], unique=False)
    op.execute(
        "INSERT INTO units (id, institution_id, name_fr, name_ar, regions, head_office, active) "
        "SELECT id, id, name_fr, name_ar, '[]', true, active FROM institutions"
    )

    op.execute("DELETE FROM institution_certificates")  # the registry is mirrored again at start-up
    with op.batch_alter_table('institution_certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_id', sa.String(length=63), nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_institution_certificates_unit_id_units'), 'units', ['unit_id'], ['id'], ondelete='CASCADE')

    _head_offices('cases', mediator_unit='mediator_id', respondent_unit='respondent_id')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_mediator_unit'), ['mediator_unit'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_respondent_unit'), ['respondent_unit'], unique=False)
    _regions_as_codes()

    _head_offices('messages', sender_unit='sender_id')
    _head_offices('documents', sender_unit='sender_id')
    _head_offices('inbox_events', recipient_unit='recipient_id')
    with op.batch_alter_table('inbox_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_inbox_recipient_seq', type_='unique')
        batch_op.create_unique_constraint('uq_inbox_unit_seq', ['recipient_unit', 'seq'])

    # Added, never altered: the append-only triggers stay in place and no row is rewritten.
    with op.batch_alter_table('ledger_entries', recreate='never') as batch_op:
        batch_op.add_column(sa.Column('v', sa.SmallInteger(), server_default='1', nullable=False))
        for name, length in (('sender_unit', 63), ('recipient_unit', 63), ('region', 40), ('due', 32), ('refers', 300)):
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
        for name in ('sender_unit', 'recipient_unit', 'region'):
            batch_op.create_index(batch_op.f(f'ix_ledger_entries_{name}'), [name], unique=False)


def _head_offices(table: str, **unit_of: str) -> None:
    """Add each unit column, filled with the head office of the institution column beside it, then
    make it required and a reference to `units`."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for unit in unit_of:
            batch_op.add_column(sa.Column(unit, sa.String(length=63), nullable=True))
    for unit, institution in unit_of.items():
        op.execute(f"UPDATE {table} SET {unit} = {institution}")
    with op.batch_alter_table(table, schema=None) as batch_op:
        for unit in unit_of:
            batch_op.alter_column(unit, existing_type=sa.String(length=63), nullable=False)
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_{unit}_units'), 'units', [unit], ['id'])


def _regions_as_codes() -> None:
    connection = op.get_bind()
    cases = sa.table('cases', sa.column('id', sa.String), sa.column('project_region', sa.String))
    for case_id, written in connection.execute(sa.select(cases.c.id, cases.c.project_region)).all():
        region = region_named(written)
        if region is not None and region.value != written:
            connection.execute(cases.update().where(cases.c.id == case_id).values(project_region=region.value))


def downgrade() -> None:
    with op.batch_alter_table('ledger_entries', recreate='never') as batch_op:
        for name in ('sender_unit', 'recipient_unit', 'region'):
            batch_op.drop_index(batch_op.f(f'ix_ledger_entries_{name}'))
        for name in ('refers', 'due', 'region', 'recipient_unit', 'sender_unit', 'v'):
            batch_op.drop_column(name)
    with op.batch_alter_table('inbox_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_inbox_unit_seq', type_='unique')
        batch_op.create_unique_constraint('uq_inbox_recipient_seq', ['recipient_id', 'seq'])
        batch_op.drop_constraint(batch_op.f('fk_inbox_events_recipient_unit_units'), type_='foreignkey')
        batch_op.drop_column('recipient_unit')
    for table in ('documents', 'messages'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_sender_unit_units'), type_='foreignkey')
            batch_op.drop_column('sender_unit')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_respondent_unit'))
        batch_op.drop_index(batch_op.f('ix_cases_mediator_unit'))
        for unit in ('respondent_unit', 'mediator_unit'):
            batch_op.drop_constraint(batch_op.f(f'fk_cases_{unit}_units'), type_='foreignkey')
            batch_op.drop_column(unit)
    with op.batch_alter_table('institution_certificates', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_institution_certificates_unit_id_units'), type_='foreignkey')
        batch_op.drop_column('unit_id')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_units_institution_id'))
    op.drop_table('units')
