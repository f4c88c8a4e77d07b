#ifndef SCRYPTEX_CLIBPQ_SHIM_H
#define SCRYPTEX_CLIBPQ_SHIM_H

#include <libpq-fe.h>
#include <postgres_ext.h>

/* libpq names the fields of an error report with character macros (PG_DIAG_SQLSTATE is 'C'),
   which Swift does not import. Each one used by Scryptex is a function here. */

static inline int scryptex_pq_diag_sqlstate(void) { return PG_DIAG_SQLSTATE; }
static inline int scryptex_pq_diag_message_primary(void) { return PG_DIAG_MESSAGE_PRIMARY; }
static inline int scryptex_pq_diag_message_detail(void) { return PG_DIAG_MESSAGE_DETAIL; }
static inline int scryptex_pq_diag_message_hint(void) { return PG_DIAG_MESSAGE_HINT; }
static inline int scryptex_pq_diag_schema_name(void) { return PG_DIAG_SCHEMA_NAME; }
static inline int scryptex_pq_diag_table_name(void) { return PG_DIAG_TABLE_NAME; }
static inline int scryptex_pq_diag_column_name(void) { return PG_DIAG_COLUMN_NAME; }
static inline int scryptex_pq_diag_constraint_name(void) { return PG_DIAG_CONSTRAINT_NAME; }

#endif
