/*
 * _cjoin: the evaluation's join, trec_eval's form_res_rels for every topic at once, in C.
 *
 * Why C: on a 5M-line run the numpy path (ragbench/evaluation/prepare.py, the reference this file
 * is tested against) spends seconds in lexsort and fancy indexing; this ranks, cuts and judges
 * each topic's documents in one pass over cache-friendly arrays. Documents are ordered by score
 * descending, then document id descending in byte order (trec_eval 10.0), using the strings of
 * the run's ragbench.formats._ctrec.Pool through that module's C API (ctrec_pool.h).
 *
 *   form_res_rels(run_query, run_doc, run_score, qrels_query, qrels_doc, qrels_rel, topic_index,
 *                 n_topics, max_docs, judged_only, relevance_level, pool)
 *       -> (rel int64, num_ret, num_rel_ret, num_nonpool, num_unjudged) as bytes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../formats/ctrec_pool.h"

static RagbenchPoolCAPI *pool_api;


typedef struct {
    double score;
    int32_t doc;
    int64_t row;
} Entry;

/* comparator context (the pool's strings); the GIL is held throughout form_res_rels() */
static const char *sort_arena;
static const int64_t *sort_start;
static const int32_t *sort_len;

static int cmp_entry(const void *a, const void *b) {
    const Entry *x = a, *y = b;
    if (x->score > y->score) return -1;
    if (x->score < y->score) return 1;
    if (x->doc == y->doc) return 0;
    /* docno descending by strcmp (unsigned bytes) */
    const unsigned char *sx = (const unsigned char *)sort_arena + sort_start[x->doc];
    const unsigned char *sy = (const unsigned char *)sort_arena + sort_start[y->doc];
    int32_t lx = sort_len[x->doc], ly = sort_len[y->doc];
    int c = memcmp(sx, sy, (size_t)(lx < ly ? lx : ly));
    if (c == 0) c = lx < ly ? -1 : (lx > ly ? 1 : 0);
    return -c;
}

/* form_res_rels(run_query, run_doc, run_score, qrels_query, qrels_doc, qrels_rel, topic_index, n_topics,
                 max_docs, judged_only, relevance_level, pool)
   trec_eval's form_res_rels for every topic at once (see ragbench/evaluation/prepare.py, whose
   numpy path is the reference): rank each evaluated topic's rows, cut at max_docs, attach the
   judgment of each document (-1 not in qrels, -2 negative judgment), drop non-judged with
   judged_only. Returns (rel int64, num_ret, num_rel_ret, num_nonpool, num_unjudged) as bytes. */
static PyObject *cjoin_form_res_rels(PyObject *self, PyObject *args) {
    Py_buffer rq, rd, rs, qq, qd, qr, ti;
    Py_ssize_t n_topics, n_codes;
    long long max_docs;
    int judged_only;
    long long level;
    PyObject *pool;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*nLiLO!", &rq, &rd, &rs, &qq, &qd, &qr, &ti, &n_topics, &max_docs,
                          &judged_only, &level, pool_api->type, &pool))
        return NULL;
    const char *arena;
    const int64_t *pool_start;
    const int32_t *pool_len;
    if (pool_api->view(pool, &arena, &pool_start, &pool_len, &n_codes) < 0) {
        PyBuffer_Release(&rq); PyBuffer_Release(&rd); PyBuffer_Release(&rs); PyBuffer_Release(&qq);
        PyBuffer_Release(&qd); PyBuffer_Release(&qr); PyBuffer_Release(&ti);
        return NULL;
    }
    const int32_t *run_q = rq.buf, *run_d = rd.buf, *q_q = qq.buf, *q_d = qd.buf;
    const double *score = rs.buf;
    const int64_t *q_rel = qr.buf, *topic_index = ti.buf;
    Py_ssize_t n = rq.len / 4, nq = qq.len / 4;
    int64_t *start = calloc((size_t)n_topics + 1, 8), *qstart = calloc((size_t)n_topics + 1, 8);
    int64_t *qorder = malloc((size_t)(nq ? nq : 1) * 8), *stamp = malloc((size_t)(n_codes ? n_codes : 1) * 8);
    int64_t *judged = malloc((size_t)(n_codes ? n_codes : 1) * 8);
    Entry *entries = NULL;
    PyObject *out_rel = NULL, *out_ret = NULL, *out_relret = NULL, *out_nonpool = NULL, *out_unj = NULL;
    if (!start || !qstart || !qorder || !stamp || !judged) goto nomem;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t t = topic_index[run_q[i]];
        if (t >= 0) start[t + 1]++;
    }
    for (Py_ssize_t t = 0; t < n_topics; t++) start[t + 1] += start[t];
    entries = malloc((size_t)(start[n_topics] ? start[n_topics] : 1) * sizeof(Entry));
    if (!entries) goto nomem;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t t = topic_index[run_q[i]];
        if (t < 0) continue;
        Entry *e = &entries[start[t]++];
        e->score = score[i];
        e->doc = run_d[i];
        e->row = i;
    }
    for (Py_ssize_t t = n_topics; t > 0; t--) start[t] = start[t - 1];
    start[0] = 0;
    /* qrels rows grouped by topic */
    for (Py_ssize_t i = 0; i < nq; i++) {
        int64_t t = topic_index[q_q[i]];
        if (t >= 0) qstart[t + 1]++;
    }
    for (Py_ssize_t t = 0; t < n_topics; t++) qstart[t + 1] += qstart[t];
    {
        int64_t *fill = malloc((size_t)(n_topics ? n_topics : 1) * 8);
        if (!fill) goto nomem;
        memcpy(fill, qstart, (size_t)n_topics * 8);
        for (Py_ssize_t i = 0; i < nq; i++) {
            int64_t t = topic_index[q_q[i]];
            if (t >= 0) qorder[fill[t]++] = i;
        }
        free(fill);
    }
    for (Py_ssize_t c = 0; c < n_codes; c++) stamp[c] = -1;
    Py_ssize_t cap = start[n_topics];
    out_rel = PyBytes_FromStringAndSize(NULL, cap * 8);
    out_ret = PyBytes_FromStringAndSize(NULL, n_topics * 8);
    out_relret = PyBytes_FromStringAndSize(NULL, n_topics * 8);
    out_nonpool = PyBytes_FromStringAndSize(NULL, n_topics * 8);
    out_unj = PyBytes_FromStringAndSize(NULL, n_topics * 8);
    if (!out_rel || !out_ret || !out_relret || !out_nonpool || !out_unj) goto nomem;
    int64_t *rel = (int64_t *)PyBytes_AS_STRING(out_rel);
    int64_t *num_ret = (int64_t *)PyBytes_AS_STRING(out_ret), *num_rel_ret = (int64_t *)PyBytes_AS_STRING(out_relret);
    int64_t *num_nonpool = (int64_t *)PyBytes_AS_STRING(out_nonpool), *num_unj = (int64_t *)PyBytes_AS_STRING(out_unj);
    Py_ssize_t w = 0;
    sort_arena = arena;
    sort_start = pool_start;
    sort_len = pool_len;
    for (Py_ssize_t t = 0; t < n_topics; t++) {
        for (int64_t k = qstart[t]; k < qstart[t + 1]; k++) {
            int64_t i = qorder[k];
            stamp[q_d[i]] = t;
            judged[q_d[i]] = q_rel[i];
        }
        Py_ssize_t len = start[t + 1] - start[t];
        qsort(entries + start[t], (size_t)len, sizeof(Entry), cmp_entry);
        if (len > max_docs) len = (Py_ssize_t)max_docs;
        int64_t relret = 0, nonpool = 0, unj = 0;
        Py_ssize_t w0 = w;
        for (Py_ssize_t k = 0; k < len; k++) {
            int32_t d = entries[start[t] + k].doc;
            int64_t r = stamp[d] == t ? (judged[d] < 0 ? -2 : judged[d]) : -1;
            if (judged_only && r < 0) continue;
            if (r == -1) nonpool++;
            else if (r == -2) unj++;
            else if (r >= level) relret++;
            rel[w++] = r;
        }
        num_ret[t] = w - w0;
        num_rel_ret[t] = relret;
        num_nonpool[t] = judged_only ? 0 : nonpool;
        num_unj[t] = judged_only ? 0 : unj;
    }
    sort_arena = NULL;
    sort_start = NULL;
    sort_len = NULL;
    if (_PyBytes_Resize(&out_rel, w * 8) < 0) {
        out_rel = NULL;
        goto nomem;
    }
    free(start);
    free(qstart);
    free(qorder);
    free(stamp);
    free(judged);
    free(entries);
    PyBuffer_Release(&rq); PyBuffer_Release(&rd); PyBuffer_Release(&rs); PyBuffer_Release(&qq);
    PyBuffer_Release(&qd); PyBuffer_Release(&qr); PyBuffer_Release(&ti);
    return Py_BuildValue("(NNNNN)", out_rel, out_ret, out_relret, out_nonpool, out_unj);
nomem:
    free(start);
    free(qstart);
    free(qorder);
    free(stamp);
    free(judged);
    free(entries);
    Py_XDECREF(out_rel); Py_XDECREF(out_ret); Py_XDECREF(out_relret); Py_XDECREF(out_nonpool); Py_XDECREF(out_unj);
    PyBuffer_Release(&rq); PyBuffer_Release(&rd); PyBuffer_Release(&rs); PyBuffer_Release(&qq);
    PyBuffer_Release(&qd); PyBuffer_Release(&qr); PyBuffer_Release(&ti);
    return PyErr_NoMemory();
}

static PyMethodDef cjoin_methods[] = {
    {"form_res_rels", cjoin_form_res_rels, METH_VARARGS, "Rank, cut and judge every topic's documents."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cjoin_module = {PyModuleDef_HEAD_INIT, "_cjoin", NULL, -1, cjoin_methods};

PyMODINIT_FUNC PyInit__cjoin(void) {
    /* PyCapsule_Import walks attributes from the top package: import the module first. */
    PyObject *ctrec = PyImport_ImportModule("ragbench.formats._ctrec");
    if (!ctrec) return NULL;
    Py_DECREF(ctrec);
    pool_api = (RagbenchPoolCAPI *)PyCapsule_Import(RAGBENCH_POOL_CAPSULE, 0);
    if (!pool_api) return NULL;
    return PyModule_Create(&cjoin_module);
}
