/*
 * The C API of ragbench.formats._ctrec's string Pool, for other extensions.
 *
 * An extension imports it once with
 *     RagbenchPoolCAPI *api = PyCapsule_Import(RAGBENCH_POOL_CAPSULE, 0);
 * then api->view(pool, &arena, &start, &len, &n) exposes the pool's strings: code c is the
 * bytes arena[start[c] .. start[c] + len[c]) (UTF-8, not NUL-terminated), for 0 <= c < n. The
 * pointers stay valid until the pool interns another string (the caller holds the GIL and does
 * not intern meanwhile).
 */
#ifndef RAGBENCH_CTREC_POOL_H
#define RAGBENCH_CTREC_POOL_H

#include <Python.h>
#include <stdint.h>

#define RAGBENCH_POOL_CAPSULE "ragbench.formats._ctrec.POOL_C_API"

typedef struct {
    PyTypeObject *type;
    int (*view)(PyObject *pool, const char **arena, const int64_t **start, const int32_t **len, Py_ssize_t *n);
} RagbenchPoolCAPI;

#endif
