/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PHP serialize() of an int => string array, the form WHMCS takes custom fields in. */
#ifndef M2T_DESK_PHP_SERIALIZE_H
#define M2T_DESK_PHP_SERIALIZE_H

#include "desk/desk.h"

/* "a:N:{i:ID;s:LEN:"VALUE";...}" with LEN in bytes of the UTF-8 value. Newly allocated. */
char *php_serialize_fields(const struct desk_field *fields, gsize n);

#endif
