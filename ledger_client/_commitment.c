/* The commitment's hot loops in C. ledger_client.commitment defines the scheme
 * (its module docstring) and keeps the Python walk as the reference; these only
 * run the same steps without Python bytecode per field and per hash.
 *
 *   flatten(doc, scalar_json) -> (pointers, tails) | None
 *       the document's leaves in walk order: each leaf's JSON Pointer and the
 *       part of its hash input after the salt, u32(len(P)) || P || V, as
 *       commitment._flatten makes them, for documents of dicts, lists, strings,
 *       ints, floats, booleans and None. Floats and out-of-range ints are
 *       encoded (or refused) by the `scalar_json(value, pointer)` callback.
 *       None for anything else (another key or value type, a lone surrogate,
 *       very deep nesting): the Python walk then does it, with its errors.
 *   leaf_hashes(prefix, salts, tails) -> list[bytes]
 *       [SHA-256(prefix || salts[i] || tails[i]) for each i]
 *   tree_root(prefix, leaf_hashes) -> bytes
 *       the Merkle root over the sorted 32-byte leaf hashes: each level pairs
 *       consecutive hashes as SHA-256(prefix || left || right), an odd last one
 *       is carried up unchanged, until one is left.
 *
 * SHA-256 is OpenSSL's (libcrypto, which Python's hashlib uses too).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#define HASH_BYTES 32
/* Past this nesting the Python walk takes over (it refuses what its recursion
 * limit cannot walk). */
#define MAX_FAST_DEPTH 400
#define MAX_SAFE_INTEGER 9007199254740991LL

/* ------------------------------------------------------------------ flatten */

typedef struct {
    char *data;
    Py_ssize_t len, cap;
} Buffer;

static int reserve(Buffer *buffer, Py_ssize_t extra) {
    if (buffer->len + extra <= buffer->cap) {
        return 1;
    }
    Py_ssize_t cap = buffer->cap ? buffer->cap : 256;
    while (cap < buffer->len + extra) {
        cap *= 2;
    }
    char *data = PyMem_Realloc(buffer->data, (size_t)cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    buffer->data = data;
    buffer->cap = cap;
    return 1;
}

static int append(Buffer *buffer, const char *bytes, Py_ssize_t len) {
    if (!reserve(buffer, len)) {
        return 0;
    }
    memcpy(buffer->data + buffer->len, bytes, (size_t)len);
    buffer->len += len;
    return 1;
}

/* A JSON string as json.encoder.encode_basestring (ensure_ascii=False) writes it,
 * from its UTF-8: '"' and '\\' and U+0000..U+001F escaped (short forms for \b \t
 * \n \f \r, else \u00xx lowercase), everything else as is. */
static int append_json_string(Buffer *buffer, const char *utf8, Py_ssize_t len) {
    static const char hex[] = "0123456789abcdef";
    if (!reserve(buffer, 6 * len + 2)) {
        return 0;
    }
    char *out = buffer->data + buffer->len;
    *out++ = '"';
    for (Py_ssize_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)utf8[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *out++ = (char)c;
            continue;
        }
        *out++ = '\\';
        switch (c) {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case '\b': *out++ = 'b'; break;
        case '\f': *out++ = 'f'; break;
        case '\n': *out++ = 'n'; break;
        case '\r': *out++ = 'r'; break;
        case '\t': *out++ = 't'; break;
        default:
            *out++ = 'u';
            *out++ = '0';
            *out++ = '0';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 0xf];
        }
    }
    *out++ = '"';
    buffer->len = out - buffer->data;
    return 1;
}

/* A JSON Pointer reference token (RFC 6901): '~' as "~0", '/' as "~1". */
static int append_pointer_token(Buffer *buffer, const char *utf8, Py_ssize_t len) {
    if (!reserve(buffer, 2 * len)) {
        return 0;
    }
    char *out = buffer->data + buffer->len;
    for (Py_ssize_t i = 0; i < len; i++) {
        if (utf8[i] == '~' || utf8[i] == '/') {
            *out++ = '~';
            *out++ = utf8[i] == '~' ? '0' : '1';
        } else {
            *out++ = utf8[i];
        }
    }
    buffer->len = out - buffer->data;
    return 1;
}

typedef struct {
    Buffer pointer; /* the current node's JSON Pointer, UTF-8 */
    Buffer typed;   /* its typed path without the brackets: "key",0,"other" */
    Buffer value;   /* scratch: the current leaf's value JSON */
    PyObject *pointers, *tails, *scalar_json;
} Walk;

/* Results of walking a node: done, a Python error, or "not for the fast path". */
enum { WALK_OK = 1, WALK_ERROR = 0, WALK_UNSUPPORTED = -1 };

static int leaf(Walk *walk, const char *value, Py_ssize_t value_len) {
    Py_ssize_t path_len = walk->typed.len + 2; /* the brackets */
    PyObject *tail = PyBytes_FromStringAndSize(NULL, 4 + path_len + value_len);
    if (tail == NULL) {
        return WALK_ERROR;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(tail);
    out[0] = (unsigned char)(path_len >> 24);
    out[1] = (unsigned char)(path_len >> 16);
    out[2] = (unsigned char)(path_len >> 8);
    out[3] = (unsigned char)path_len;
    out[4] = '[';
    memcpy(out + 5, walk->typed.data, (size_t)walk->typed.len);
    out[5 + walk->typed.len] = ']';
    memcpy(out + 4 + path_len, value, (size_t)value_len);
    PyObject *pointer = PyUnicode_DecodeUTF8(walk->pointer.data, walk->pointer.len, "strict");
    int ok = pointer != NULL && PyList_Append(walk->pointers, pointer) == 0 &&
             PyList_Append(walk->tails, tail) == 0;
    Py_XDECREF(pointer);
    Py_DECREF(tail);
    return ok ? WALK_OK : WALK_ERROR;
}

static int walk_node(Walk *walk, PyObject *node, int depth);

/* The child at the path now in walk->pointer / walk->typed. */
static int walk_child(Walk *walk, PyObject *child, int depth) {
    if (PyUnicode_CheckExact(child)) {
        Py_ssize_t len;
        const char *utf8 = PyUnicode_AsUTF8AndSize(child, &len);
        if (utf8 == NULL) { /* a lone surrogate: the Python walk names the field */
            PyErr_Clear();
            return WALK_UNSUPPORTED;
        }
        walk->value.len = 0;
        if (!append_json_string(&walk->value, utf8, len)) {
            return WALK_ERROR;
        }
        return leaf(walk, walk->value.data, walk->value.len);
    }
    if (PyDict_CheckExact(child)) {
        return PyDict_GET_SIZE(child) ? walk_node(walk, child, depth + 1) : leaf(walk, "{}", 2);
    }
    if (PyList_CheckExact(child)) {
        return PyList_GET_SIZE(child) ? walk_node(walk, child, depth + 1) : leaf(walk, "[]", 2);
    }
    if (child == Py_None) {
        return leaf(walk, "null", 4);
    }
    if (child == Py_True) {
        return leaf(walk, "true", 4);
    }
    if (child == Py_False) {
        return leaf(walk, "false", 5);
    }
    if (PyLong_CheckExact(child)) {
        int overflow;
        long long number = PyLong_AsLongLongAndOverflow(child, &overflow);
        if (number == -1 && PyErr_Occurred()) {
            return WALK_ERROR;
        }
        if (!overflow && number >= -MAX_SAFE_INTEGER && number <= MAX_SAFE_INTEGER) {
            char digits[24];
            int len = snprintf(digits, sizeof digits, "%lld", number);
            return leaf(walk, digits, len);
        }
        /* out of range: scalar_json refuses it by name */
    } else if (!PyFloat_CheckExact(child)) {
        return WALK_UNSUPPORTED;
    }
    PyObject *pointer = PyUnicode_DecodeUTF8(walk->pointer.data, walk->pointer.len, "strict");
    if (pointer == NULL) {
        return WALK_ERROR;
    }
    PyObject *encoded = PyObject_CallFunctionObjArgs(walk->scalar_json, child, pointer, NULL);
    Py_DECREF(pointer);
    if (encoded == NULL) {
        return WALK_ERROR;
    }
    int result;
    if (!PyBytes_Check(encoded)) {
        PyErr_SetString(PyExc_TypeError, "scalar_json must return bytes");
        result = WALK_ERROR;
    } else {
        /* Copied: the callback is Python and may run anything, the value buffer
         * included, before it returns; its result is its own. */
        result = leaf(walk, PyBytes_AS_STRING(encoded), PyBytes_GET_SIZE(encoded));
    }
    Py_DECREF(encoded);
    return result;
}

/* The members or items of a non-empty dict or list. */
static int walk_node(Walk *walk, PyObject *node, int depth) {
    if (depth > MAX_FAST_DEPTH) {
        return WALK_UNSUPPORTED;
    }
    Py_ssize_t pointer_len = walk->pointer.len, typed_len = walk->typed.len;
    int result = WALK_OK;
    if (PyDict_CheckExact(node)) {
        Py_ssize_t position = 0;
        PyObject *key, *child;
        while (result == WALK_OK && PyDict_Next(node, &position, &key, &child)) {
            if (!PyUnicode_CheckExact(key)) {
                return WALK_UNSUPPORTED;
            }
            Py_ssize_t len;
            const char *utf8 = PyUnicode_AsUTF8AndSize(key, &len);
            if (utf8 == NULL) {
                PyErr_Clear();
                return WALK_UNSUPPORTED;
            }
            walk->pointer.len = pointer_len;
            walk->typed.len = typed_len;
            if (!append(&walk->pointer, "/", 1) || !append_pointer_token(&walk->pointer, utf8, len) ||
                (typed_len && !append(&walk->typed, ",", 1)) ||
                !append_json_string(&walk->typed, utf8, len)) {
                return WALK_ERROR;
            }
            /* Held while walked: a float's callback runs Python, which could
             * change the dict. */
            Py_INCREF(child);
            result = walk_child(walk, child, depth);
            Py_DECREF(child);
        }
    } else {
        for (Py_ssize_t i = 0; result == WALK_OK && i < PyList_GET_SIZE(node); i++) {
            char digits[24];
            int len = snprintf(digits, sizeof digits, "%zd", i);
            walk->pointer.len = pointer_len;
            walk->typed.len = typed_len;
            if (!append(&walk->pointer, "/", 1) || !append(&walk->pointer, digits, len) ||
                (typed_len && !append(&walk->typed, ",", 1)) ||
                !append(&walk->typed, digits, len)) {
                return WALK_ERROR;
            }
            PyObject *child = PyList_GET_ITEM(node, i);
            Py_INCREF(child);
            result = walk_child(walk, child, depth);
            Py_DECREF(child);
        }
    }
    walk->pointer.len = pointer_len;
    walk->typed.len = typed_len;
    return result;
}

static PyObject *flatten(PyObject *module, PyObject *args) {
    PyObject *doc, *scalar_json;
    if (!PyArg_ParseTuple(args, "OO:flatten", &doc, &scalar_json)) {
        return NULL;
    }
    if (!PyDict_CheckExact(doc) || PyDict_GET_SIZE(doc) == 0) {
        Py_RETURN_NONE;
    }
    Walk walk = {{0}, {0}, {0}, PyList_New(0), PyList_New(0), scalar_json};
    PyObject *result = NULL;
    if (walk.pointers != NULL && walk.tails != NULL) {
        int outcome = walk_node(&walk, doc, 0);
        if (outcome == WALK_OK) {
            result = PyTuple_Pack(2, walk.pointers, walk.tails);
        } else if (outcome == WALK_UNSUPPORTED) {
            result = Py_NewRef(Py_None);
        }
    }
    PyMem_Free(walk.pointer.data);
    PyMem_Free(walk.typed.data);
    PyMem_Free(walk.value.data);
    Py_XDECREF(walk.pointers);
    Py_XDECREF(walk.tails);
    return result;
}

/* ------------------------------------------------------------------ hashing */

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
    {"flatten", flatten, METH_VARARGS,
     "flatten(doc, scalar_json): (pointers, tails) of the document's leaves, or None."},
    {"leaf_hashes", leaf_hashes, METH_VARARGS,
     "leaf_hashes(prefix, salts, tails): SHA-256(prefix || salt || tail) for each pair."},
    {"tree_root", tree_root, METH_VARARGS,
     "tree_root(prefix, leaf_hashes): Merkle root over the sorted 32-byte hashes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "ledger_client._commitment",
    "The commitment's hot loops (see ledger_client.commitment).", -1, methods,
};

PyMODINIT_FUNC PyInit__commitment(void) { return PyModule_Create(&module); }
