/* The commitment's hashing loops in C (ledger_client.commitment is the scheme's
 * definition; this only runs two of its loops without a Python call per hash).
 *
 *   leaf_hashes(prefix, salts, tails) -> list[bytes]
 *       [SHA-256(prefix || salts[i] || tails[i]) for each i]
 *   tree_root(prefix, leaf_hashes) -> bytes
 *       the Merkle root over the sorted 32-byte leaf hashes: each level pairs
 *       consecutive hashes as SHA-256(prefix || left || right), an odd last one
 *       is carried up unchanged, until one is left.
 *
 * SHA-256 is OpenSSL's (libcrypto, which Python's hashlib uses too). With Python
 * calls per hash (context copy, two updates, digest) a document of ~66 fields
 * spent ~160 us hashing; here ~40 us (bench.audit_bench, the present_file row).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#define HASH_BYTES 32

/* A context that has absorbed `prefix`, to be copied for each hash. */
static EVP_MD_CTX *seeded(const Py_buffer *prefix) {
    EVP_MD_CTX *seed = EVP_MD_CTX_new();
    if (seed == NULL || !EVP_DigestInit_ex(seed, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(seed, prefix->buf, (size_t)prefix->len)) {
        EVP_MD_CTX_free(seed);
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL could not start a SHA-256 context");
        return NULL;
    }
    return seed;
}

/* A context for hash_two to copy seeds into. */
static EVP_MD_CTX *new_context(void) {
    EVP_MD_CTX *work = EVP_MD_CTX_new();
    if (work == NULL) {
        PyErr_NoMemory();
    }
    return work;
}

/* out = SHA-256(seed's input || a || b); 0 if OpenSSL fails. Touches no Python
 * object, so it runs with the GIL released. */
static int hash_two(const EVP_MD_CTX *seed, EVP_MD_CTX *work, const void *a, size_t a_len,
                    const void *b, size_t b_len, unsigned char *out) {
    return EVP_MD_CTX_copy_ex(work, seed) && EVP_DigestUpdate(work, a, a_len) &&
           EVP_DigestUpdate(work, b, b_len) && EVP_DigestFinal_ex(work, out, NULL);
}

static PyObject *leaf_hashes(PyObject *module, PyObject *args) {
    Py_buffer prefix;
    PyObject *salts_arg, *tails_arg;
    if (!PyArg_ParseTuple(args, "y*OO:leaf_hashes", &prefix, &salts_arg, &tails_arg)) {
        return NULL;
    }
    PyObject *result = NULL, *salts = NULL, *tails = NULL;
    const char **parts = NULL;
    size_t *lengths = NULL;
    unsigned char *digests = NULL;
    EVP_MD_CTX *seed = NULL, *work = NULL;
    /* Tuples: they hold their items, so the bytes stay alive (and unchanged:
     * bytes are immutable) while the GIL is released below. */
    salts = PySequence_Tuple(salts_arg);
    tails = salts ? PySequence_Tuple(tails_arg) : NULL;
    if (tails == NULL) {
        goto done;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(salts);
    if (PyTuple_GET_SIZE(tails) != count) {
        PyErr_Format(PyExc_ValueError, "%zd salts for %zd leaves", count, PyTuple_GET_SIZE(tails));
        goto done;
    }
    parts = PyMem_Malloc(2 * (size_t)(count ? count : 1) * sizeof *parts);
    lengths = PyMem_Malloc(2 * (size_t)(count ? count : 1) * sizeof *lengths);
    digests = PyMem_Malloc((size_t)(count ? count : 1) * HASH_BYTES);
    if (parts == NULL || lengths == NULL || digests == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *salt = PyTuple_GET_ITEM(salts, i), *tail = PyTuple_GET_ITEM(tails, i);
        if (!PyBytes_Check(salt) || !PyBytes_Check(tail)) {
            PyErr_Format(PyExc_TypeError, "leaf %zd: salt and tail must be bytes, not %s and %s",
                         i, Py_TYPE(salt)->tp_name, Py_TYPE(tail)->tp_name);
            goto done;
        }
        parts[2 * i] = PyBytes_AS_STRING(salt);
        lengths[2 * i] = (size_t)PyBytes_GET_SIZE(salt);
        parts[2 * i + 1] = PyBytes_AS_STRING(tail);
        lengths[2 * i + 1] = (size_t)PyBytes_GET_SIZE(tail);
    }
    if ((seed = seeded(&prefix)) == NULL || (work = new_context()) == NULL) {
        goto done;
    }
    int hashed = 1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count && hashed; i++) {
        hashed = hash_two(seed, work, parts[2 * i], lengths[2 * i], parts[2 * i + 1],
                          lengths[2 * i + 1], digests + i * HASH_BYTES);
    }
    Py_END_ALLOW_THREADS
    if (!hashed) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL failed to compute a SHA-256");
        goto done;
    }
    PyObject *hashes = PyList_New(count);
    if (hashes == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyBytes_FromStringAndSize((const char *)digests + i * HASH_BYTES,
                                                   HASH_BYTES);
        if (item == NULL) {
            Py_DECREF(hashes);
            goto done;
        }
        PyList_SET_ITEM(hashes, i, item);
    }
    result = hashes;
done:
    EVP_MD_CTX_free(work);
    EVP_MD_CTX_free(seed);
    PyMem_Free(digests);
    PyMem_Free(lengths);
    PyMem_Free(parts);
    Py_XDECREF(tails);
    Py_XDECREF(salts);
    PyBuffer_Release(&prefix);
    return result;
}

static int compare_hashes(const void *a, const void *b) { return memcmp(a, b, HASH_BYTES); }

static PyObject *tree_root(PyObject *module, PyObject *args) {
    Py_buffer prefix;
    PyObject *leaves_arg;
    if (!PyArg_ParseTuple(args, "y*O:tree_root", &prefix, &leaves_arg)) {
        return NULL;
    }
    PyObject *result = NULL, *leaves = NULL;
    unsigned char *level = NULL;
    EVP_MD_CTX *seed = NULL, *work = NULL;
    leaves = PySequence_Fast(leaves_arg, "leaf hashes must be a sequence of bytes");
    if (leaves == NULL) {
        goto done;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(leaves);
    if (count == 0) {
        PyErr_SetString(PyExc_ValueError, "a tree needs at least one leaf hash");
        goto done;
    }
    if ((level = PyMem_Malloc((size_t)count * HASH_BYTES)) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject **items = PySequence_Fast_ITEMS(leaves);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyBytes_Check(items[i]) || PyBytes_GET_SIZE(items[i]) != HASH_BYTES) {
            PyErr_Format(PyExc_ValueError, "leaf hash %zd is not %d bytes", i, HASH_BYTES);
            goto done;
        }
        memcpy(level + i * HASH_BYTES, PyBytes_AS_STRING(items[i]), HASH_BYTES);
    }
    qsort(level, (size_t)count, HASH_BYTES, compare_hashes);
    if ((seed = seeded(&prefix)) == NULL || (work = new_context()) == NULL) {
        goto done;
    }
    /* Level by level in place: node j of the next level overwrites slot j, which
     * the pairs still to be read (2j and up) lie past. */
    int hashed = 1;
    Py_BEGIN_ALLOW_THREADS
    while (count > 1 && hashed) {
        Py_ssize_t next = 0;
        for (Py_ssize_t i = 0; i + 1 < count && hashed; i += 2, next++) {
            hashed = hash_two(seed, work, level + i * HASH_BYTES, HASH_BYTES,
                              level + (i + 1) * HASH_BYTES, HASH_BYTES,
                              level + next * HASH_BYTES);
        }
        if (count % 2) {
            memmove(level + next * HASH_BYTES, level + (count - 1) * HASH_BYTES, HASH_BYTES);
            next++;
        }
        count = next;
    }
    Py_END_ALLOW_THREADS
    if (!hashed) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL failed to compute a SHA-256");
        goto done;
    }
    result = PyBytes_FromStringAndSize((const char *)level, HASH_BYTES);
done:
    EVP_MD_CTX_free(work);
    EVP_MD_CTX_free(seed);
    PyMem_Free(level);
    Py_XDECREF(leaves);
    PyBuffer_Release(&prefix);
    return result;
}

static PyMethodDef methods[] = {
    {"leaf_hashes", leaf_hashes, METH_VARARGS,
     "leaf_hashes(prefix, salts, tails): SHA-256(prefix || salt || tail) for each pair."},
    {"tree_root", tree_root, METH_VARARGS,
     "tree_root(prefix, leaf_hashes): Merkle root over the sorted 32-byte hashes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "ledger_client._merkle",
    "The commitment's hashing loops (see ledger_client.commitment).", -1, methods,
};

PyMODINIT_FUNC PyInit__merkle(void) { return PyModule_Create(&module); }
