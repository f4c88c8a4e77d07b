#ifndef SCRYPTEX_CLIBPQ_SHIM_H
#define SCRYPTEX_CLIBPQ_SHIM_H

#include <libpq-fe.h>

/* Result and connection status values are plain enums in libpq-fe.h and import as they are;
   nothing here needs a macro turned into a function yet. */

#endif
