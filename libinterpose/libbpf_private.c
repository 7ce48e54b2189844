// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libinterpose: built into the shared library only, whose copy of libbpf
 * is its own (its symbols hidden by the version script): libbpf's messages
 * go to our print callback from the start, set once for the process and
 * never switched per call.  The static library leaves libbpf's print
 * callback to the application, whose libbpf it is.
 */
#include <stdarg.h>
#include <bpf/libbpf.h>

#include "libinterpose_internal.h"

/* see ip_prog_use_obj(): the application's objects are not this libbpf's */
bool ip_libbpf_private = true;

__attribute__((constructor)) static void ip_libbpf_private_init(void)
{
	libbpf_set_print(ip_libbpf_print);
}
