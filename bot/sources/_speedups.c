/* Ingestion's word work in C: sentence splits, the story signature's tokens,
 * proper nouns and shingles (in the parse workers), and the story grouper's
 * matching (in the batch writer).
 *
 * bot/sources/text.py, cluster.py and ingest.py hold the reference (pure Python)
 * version of every rule here, and tests/sources/test_speedups.py checks that both
 * give the same results. The Python versions spent ~85 us an item in many small
 * calls into re, str and set (docs/performance.md, round 7); here each token or
 * sentence end costs a few string and set operations.
 *
 * split_sentences(abbreviations, text) -> list[str]
 *   text.split_sentences_py; abbreviations is text._ABBREVIATIONS
 *
 * assign_stories(state, items, source_id, since) -> dict[int, int]
 *   ingest.StoryGrouper._assign_py on the grouper's own lists and index (state,
 *   see StoryGrouper._compiled_state): the grouper is the batch writer's one
 *   pure-Python step, ~22 us an article, on the ingest cycle's critical path.
 *
 * names_and_shingles(not_names, stopwords, titles, max_shingles, sentences)
 *   the word sets and the limit of cluster.py (first, so functools.partial can bind them);
 *   sentences: [headline, lead sentence, ...], acronym dots already removed
 *   returns (sorted list of names, sorted list of at most max_shingles hashes)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

#define SHINGLE_MASK 0xFFFFFFu
#define STEM_CHARS 6
#define MIN_STEM_CHARS 4
#define NAME_KEY_CHARS 4
#define ACRONYM_MAX_CHARS 6

/* --- CRC-32 (zlib's polynomial, so the hashes equal zlib.crc32's) ------------ */

static uint32_t crc_table[256];

static void
make_crc_table(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[n] = c;
    }
}

/* zlib.crc32(data, crc) */
static uint32_t
crc32_update(uint32_t crc, const char *data, Py_ssize_t size)
{
    uint32_t c = crc ^ 0xFFFFFFFFu;
    for (Py_ssize_t i = 0; i < size; i++) {
        c = crc_table[(c ^ (unsigned char)data[i]) & 0xFF] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

/* --- tokens ------------------------------------------------------------------ */

typedef struct {
    PyObject *word;  /* the token as written */
    PyObject *lower; /* word.lower(), made on first use */
} Token;

typedef struct {
    Token *items;
    Py_ssize_t size;
    Py_ssize_t capacity;
} Tokens;

static void
tokens_clear(Tokens *tokens)
{
    for (Py_ssize_t i = 0; i < tokens->size; i++) {
        Py_XDECREF(tokens->items[i].word);
        Py_XDECREF(tokens->items[i].lower);
    }
    PyMem_Free(tokens->items);
    tokens->items = NULL;
    tokens->size = tokens->capacity = 0;
}

static int
tokens_append(Tokens *tokens, PyObject *word)
{
    if (tokens->size == tokens->capacity) {
        Py_ssize_t capacity = tokens->capacity ? tokens->capacity * 2 : 64;
        Token *items = PyMem_Realloc(tokens->items, capacity * sizeof(Token));
        if (items == NULL) {
            Py_DECREF(word);
            PyErr_NoMemory();
            return -1;
        }
        tokens->items = items;
        tokens->capacity = capacity;
    }
    tokens->items[tokens->size].word = word;
    tokens->items[tokens->size].lower = NULL;
    tokens->size++;
    return 0;
}

/* Py_UNICODE_ISALNUM, by ranges for ASCII (most text): the Unicode test is four
 * database lookups a character.
 */
static int
is_alnum(Py_UCS4 ch)
{
    if (ch < 128) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    }
    return Py_UNICODE_ISALNUM(ch);
}

/* A character that may continue a token: \w (alphanumeric or "_"), ', ’ or &. */
static int
is_token_char(Py_UCS4 ch)
{
    return is_alnum(ch) || ch == '_' || ch == '\'' || ch == 0x2019 || ch == '&';
}

static int
is_quote(Py_UCS4 ch)
{
    return ch == '\'' || ch == 0x2019;
}

/* cluster._tokens: runs that start with a letter or digit and go on over token
 * characters (a hyphen ends a run, as splitting hyphenated tokens does), each
 * without a final possessive ("'", "'s", "’", "’s").
 */
static int
tokenize(PyObject *sentence, Tokens *tokens)
{
    int kind = PyUnicode_KIND(sentence);
    const void *data = PyUnicode_DATA(sentence);
    Py_ssize_t length = PyUnicode_GET_LENGTH(sentence);
    Py_ssize_t i = 0;
    while (i < length) {
        if (!is_alnum(PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        Py_ssize_t start = i++;
        while (i < length && is_token_char(PyUnicode_READ(kind, data, i))) {
            i++;
        }
        Py_ssize_t end = i;
        Py_UCS4 last = PyUnicode_READ(kind, data, end - 1);
        if (is_quote(last)) {
            end--;
        }
        else if (last == 's' && end - start >= 2 &&
                 is_quote(PyUnicode_READ(kind, data, end - 2))) {
            end -= 2;
        }
        PyObject *word = PyUnicode_Substring(sentence, start, end);
        if (word == NULL || tokens_append(tokens, word) < 0) {
            return -1;
        }
    }
    return 0;
}

static PyObject *
ascii_lower(PyObject *word)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(word);
    const Py_UCS1 *data = PyUnicode_1BYTE_DATA(word);
    Py_ssize_t i = 0;
    while (i < length && !(data[i] >= 'A' && data[i] <= 'Z')) {
        i++;
    }
    if (i == length) {
        Py_INCREF(word);
        return word; /* already lower case: the common case */
    }
    PyObject *lower = PyUnicode_New(length, 127);
    if (lower == NULL) {
        return NULL;
    }
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(lower);
    for (i = 0; i < length; i++) {
        Py_UCS1 c = data[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (Py_UCS1)(c + ('a' - 'A')) : c;
    }
    return lower;
}

/* token.lower(), made once a token; a borrowed reference (NULL on error). */
static PyObject *
lowered(Token *token)
{
    if (token->lower == NULL) {
        if (PyUnicode_IS_ASCII(token->word)) {
            token->lower = ascii_lower(token->word);
        }
        else {
            token->lower = PyObject_CallMethod(token->word, "lower", NULL);
        }
    }
    return token->lower;
}

/* --- proper nouns ------------------------------------------------------------ */

typedef struct {
    PyObject *not_names;
    PyObject *stopwords;
    PyObject *titles;
} WordSets;

static Py_UCS4
first_char(PyObject *word)
{
    return PyUnicode_READ_CHAR(word, 0);
}

/* 1 when set contains the token's lower case, 0 when not, -1 on error. */
static int
lower_in(Token *token, PyObject *set)
{
    PyObject *lower = lowered(token);
    return lower == NULL ? -1 : PySet_Contains(set, lower);
}

/* cluster._is_capitalised */
static int
is_capitalised(Token *token, const WordSets *sets)
{
    if (!Py_UNICODE_ISUPPER(first_char(token->word))) {
        return 0;
    }
    int found = lower_in(token, sets->not_names);
    return found < 0 ? -1 : !found;
}

/* cluster._is_acronym */
static int
is_acronym(PyObject *word)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(word);
    if (length > ACRONYM_MAX_CHARS) {
        return 0;
    }
    int letters = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 ch = PyUnicode_READ_CHAR(word, i);
        if (Py_UNICODE_ISALPHA(ch)) {
            if (!Py_UNICODE_ISUPPER(ch)) {
                return 0;
            }
            letters++;
        }
    }
    return letters >= 2;
}

/* cluster._is_titlecase of the headline's tokens */
static int
is_titlecase(Tokens *tokens, Py_ssize_t start, Py_ssize_t end, const WordSets *sets)
{
    Py_ssize_t content = 0, capitalised = 0;
    for (Py_ssize_t i = start; i < end; i++) {
        Token *token = &tokens->items[i];
        int stop = lower_in(token, sets->stopwords);
        if (stop < 0) {
            return -1;
        }
        Py_UCS4 first = first_char(token->word);
        if (stop || !Py_UNICODE_ISALPHA(first)) {
            continue;
        }
        content++;
        capitalised += Py_UNICODE_ISUPPER(first) ? 1 : 0;
    }
    return content >= 4 && (double)capitalised >= 0.7 * (double)content;
}

/* cluster._starts_name: the next word continues a name or is a title. */
static int
starts_name(Tokens *tokens, Py_ssize_t next, Py_ssize_t end, const WordSets *sets)
{
    if (next >= end) {
        return 0;
    }
    int capitalised = is_capitalised(&tokens->items[next], sets);
    if (capitalised != 0) {
        return capitalised;
    }
    return lower_in(&tokens->items[next], sets->titles);
}

/* cluster._names_match for two different names */
static int
names_match(PyObject *a, PyObject *b)
{
    Py_ssize_t la = PyUnicode_GET_LENGTH(a), lb = PyUnicode_GET_LENGTH(b);
    PyObject *shorter = lb < la ? b : a;
    PyObject *longer = lb < la ? a : b;
    Py_ssize_t ls = PyUnicode_GET_LENGTH(shorter), ll = PyUnicode_GET_LENGTH(longer);
    if (ls < NAME_KEY_CHARS || ll - ls > 4) {
        return 0;
    }
    Py_ssize_t prefix = 0;
    while (prefix < ls &&
           PyUnicode_READ_CHAR(shorter, prefix) == PyUnicode_READ_CHAR(longer, prefix)) {
        prefix++;
    }
    return prefix >= NAME_KEY_CHARS && prefix >= ls - 1;
}

/* name.startswith(word[:4]), for a word of 4+ characters */
static int
same_key(PyObject *name, PyObject *word)
{
    if (PyUnicode_GET_LENGTH(name) < NAME_KEY_CHARS) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < NAME_KEY_CHARS; i++) {
        if (PyUnicode_READ_CHAR(name, i) != PyUnicode_READ_CHAR(word, i)) {
            return 0;
        }
    }
    return 1;
}

/* cluster._matches_any */
static int
matches_any(PyObject *word, PyObject *names)
{
    int found = PySet_Contains(names, word);
    if (found != 0 || PyUnicode_GET_LENGTH(word) < NAME_KEY_CHARS) {
        return found;
    }
    PyObject *iterator = PyObject_GetIter(names), *name;
    if (iterator == NULL) {
        return -1;
    }
    while (found == 0 && (name = PyIter_Next(iterator)) != NULL) {
        found = same_key(name, word) && names_match(word, name);
        Py_DECREF(name);
    }
    Py_DECREF(iterator);
    return PyErr_Occurred() ? -1 : found;
}

/* Add the words of `candidates` that match one of `names` (a match against the set
 * as it was before this call, as the Python set comprehension does).
 */
static int
add_matching(PyObject *names, PyObject *candidates)
{
    PyObject *matched = PyList_New(0), *iterator = PyObject_GetIter(candidates), *word;
    int status = matched == NULL || iterator == NULL ? -1 : 0;
    while (status == 0 && (word = PyIter_Next(iterator)) != NULL) {
        int match = matches_any(word, names);
        if (match < 0 || (match && PyList_Append(matched, word) < 0)) {
            status = -1;
        }
        Py_DECREF(word);
    }
    if (status == 0 && PyErr_Occurred()) {
        status = -1;
    }
    for (Py_ssize_t i = 0; status == 0 && i < PyList_GET_SIZE(matched); i++) {
        status = PySet_Add(names, PyList_GET_ITEM(matched, i));
    }
    Py_XDECREF(iterator);
    Py_XDECREF(matched);
    return status;
}

/* One sentence's names (into `names`) and sentence-initial capitalised words. */
static int
sentence_names(Tokens *tokens, Py_ssize_t start, Py_ssize_t end, const WordSets *sets,
               PyObject *names, PyObject *initial)
{
    for (Py_ssize_t i = start; i < end; i++) {
        Token *token = &tokens->items[i];
        if (!Py_UNICODE_ISUPPER(first_char(token->word))) {
            continue;
        }
        int not_name = lower_in(token, sets->not_names);
        if (not_name != 0) {
            if (not_name < 0) {
                return -1;
            }
            continue;
        }
        int is_name = i > start;
        if (!is_name) {
            is_name = starts_name(tokens, i + 1, end, sets);
            if (is_name < 0) {
                return -1;
            }
            is_name = is_name || is_acronym(token->word);
        }
        if (PySet_Add(is_name ? names : initial, token->lower) < 0) {
            return -1;
        }
    }
    return 0;
}

/* The capitalised words of a title-case headline (cluster._is_capitalised). */
static PyObject *
headline_words(Tokens *tokens, Py_ssize_t end, const WordSets *sets)
{
    PyObject *words = PySet_New(NULL);
    for (Py_ssize_t i = 0; words != NULL && i < end; i++) {
        int capitalised = is_capitalised(&tokens->items[i], sets);
        if (capitalised < 0 ||
            (capitalised && PySet_Add(words, tokens->items[i].lower) < 0)) {
            Py_CLEAR(words);
        }
    }
    return words;
}

/* cluster._proper_nouns; `starts` holds each sentence's first token index, and
 * starts[count] the number of tokens.
 */
static PyObject *
proper_nouns(Tokens *tokens, const Py_ssize_t *starts, Py_ssize_t count, int titlecase,
             const WordSets *sets)
{
    PyObject *names = PySet_New(NULL), *initial = PySet_New(NULL), *heads = NULL;
    if (names == NULL || initial == NULL) {
        goto error;
    }
    for (Py_ssize_t s = titlecase ? 1 : 0; s < count; s++) {
        if (sentence_names(tokens, starts[s], starts[s + 1], sets, names, initial) < 0) {
            goto error;
        }
    }
    if (add_matching(names, initial) < 0) {
        goto error;
    }
    Py_CLEAR(initial);
    if (titlecase) {
        heads = headline_words(tokens, starts[1], sets);
        if (heads == NULL) {
            goto error;
        }
        if (count == 1) {
            Py_DECREF(names);
            return heads; /* nothing to confirm with: best effort */
        }
        if (add_matching(names, heads) < 0) {
            goto error;
        }
        Py_CLEAR(heads);
    }
    return names;
error:
    Py_XDECREF(names);
    Py_XDECREF(initial);
    Py_XDECREF(heads);
    return NULL;
}

/* --- shingles ------------------------------------------------------------------ */

typedef struct {
    uint32_t *values;
    Py_ssize_t size;
} Hashes;

/* The stem's UTF-8 bytes (cluster._stem of a lower-case word): a pointer into
 * `lower` or into *keep, which the caller releases.
 */
static const char *
stem_bytes(PyObject *lower, Py_ssize_t *size, PyObject **keep)
{
    static const char *suffixes[] = {"ing", "ed", "es", "s"};
    Py_ssize_t length = PyUnicode_GET_LENGTH(lower);
    int ascii = PyUnicode_IS_ASCII(lower);
    for (int k = 0; k < 4; k++) {
        Py_ssize_t suffix = (Py_ssize_t)strlen(suffixes[k]);
        if (length - suffix < MIN_STEM_CHARS) {
            continue;
        }
        int ends = 1;
        for (Py_ssize_t j = 0; j < suffix; j++) {
            if (PyUnicode_READ_CHAR(lower, length - suffix + j) != (Py_UCS4)suffixes[k][j]) {
                ends = 0;
                break;
            }
        }
        if (ends) {
            length -= suffix;
            break;
        }
    }
    if (length > STEM_CHARS) {
        length = STEM_CHARS;
    }
    if (ascii) {
        *size = length;
        return (const char *)PyUnicode_1BYTE_DATA(lower);
    }
    *keep = PyUnicode_Substring(lower, 0, length);
    return *keep == NULL ? NULL : PyUnicode_AsUTF8AndSize(*keep, size);
}

/* cluster._shingles over every token: content-word stems and adjacent pairs. */
static int
collect_shingles(Tokens *tokens, PyObject *stopwords, Hashes *hashes)
{
    int have_previous = 0;
    uint32_t previous = 0;
    for (Py_ssize_t i = 0; i < tokens->size; i++) {
        Token *token = &tokens->items[i];
        if (PyUnicode_GET_LENGTH(token->word) <= 1) {
            continue;
        }
        int stop = lower_in(token, stopwords);
        if (stop != 0) {
            if (stop < 0) {
                return -1;
            }
            continue;
        }
        PyObject *keep = NULL;
        Py_ssize_t size;
        const char *stem = stem_bytes(token->lower, &size, &keep);
        if (stem == NULL) {
            Py_XDECREF(keep);
            return -1;
        }
        uint32_t crc = crc32_update(0, stem, size);
        hashes->values[hashes->size++] = crc & SHINGLE_MASK;
        if (have_previous) {
            uint32_t pair = crc32_update(crc32_update(previous, " ", 1), stem, size);
            hashes->values[hashes->size++] = pair & SHINGLE_MASK;
        }
        Py_XDECREF(keep);
        previous = crc;
        have_previous = 1;
    }
    return 0;
}

/* Shell sort (Ciura's gaps), for the few hundred values at most sorted here:
 * compared inline, where qsort called a comparison function ~700 times an item.
 * `before(a, b)` is true when a goes before b.
 */
#define DEFINE_SHELL_SORT(name, type, before)                                              \
    static void name(type *values, Py_ssize_t size)                                         \
    {                                                                                       \
        static const Py_ssize_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};                 \
        for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {                      \
            Py_ssize_t gap = gaps[g];                                                       \
            for (Py_ssize_t i = gap; i < size; i++) {                                       \
                type value = values[i];                                                     \
                Py_ssize_t j = i;                                                           \
                for (; j >= gap && before(value, values[j - gap]); j -= gap) {              \
                    values[j] = values[j - gap];                                            \
                }                                                                           \
                values[j] = value;                                                          \
            }                                                                               \
        }                                                                                   \
    }

#define LESS(a, b) ((a) < (b))
#define GREATER(a, b) ((a) > (b))

DEFINE_SHELL_SORT(sort_hashes, uint32_t, LESS)

/* The distinct hashes in order, the `limit` lowest, as a list of ints. */
static PyObject *
lowest_distinct(Hashes *hashes, Py_ssize_t limit)
{
    sort_hashes(hashes->values, hashes->size);
    PyObject *list = PyList_New(0);
    for (Py_ssize_t i = 0; list != NULL && i < hashes->size; i++) {
        if (PyList_GET_SIZE(list) >= limit) {
            break;
        }
        if (i > 0 && hashes->values[i] == hashes->values[i - 1]) {
            continue;
        }
        PyObject *value = PyLong_FromUnsignedLong(hashes->values[i]);
        if (value == NULL || PyList_Append(list, value) < 0) {
            Py_XDECREF(value);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(value);
    }
    return list;
}

/* --- sentences (text.split_sentences_py) --------------------------------------- */

static int
is_sentence_end(Py_UCS4 ch)
{
    return ch == '.' || ch == '!' || ch == '?' || ch == 0x2026; /* … */
}

static int
is_closer(Py_UCS4 ch)
{
    return ch == '"' || ch == '\'' || ch == 0x201D || ch == 0x2019 || ch == 0x00BB ||
           ch == ')' || ch == ']'; /* " ' ” ’ » ) ] */
}

static int
is_opener(Py_UCS4 ch)
{
    return ch == '"' || ch == '\'' || ch == 0x201C || ch == 0x2018 || ch == 0x00AB ||
           ch == '(' || ch == '['; /* " ' “ ‘ « ( [ */
}

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t length;
} Text;

static Py_UCS4
at(const Text *text, Py_ssize_t i)
{
    return PyUnicode_READ(text->kind, text->data, i);
}

/* Where _SENTENCE_END_RE's match that starts at `i` ends, or -1 when none does; the
 * first letter or digit of the next sentence goes to *next. The pattern's runs
 * are greedy and the lookahead needs whitespace right after them, so giving back
 * characters never helps: one pass decides.
 */
static Py_ssize_t
sentence_end_at(const Text *text, Py_ssize_t i, Py_UCS4 *next)
{
    Py_ssize_t j = i;
    while (j < text->length && is_sentence_end(at(text, j))) {
        j++;
    }
    if (j == i) {
        return -1;
    }
    while (j < text->length && is_closer(at(text, j))) {
        j++;
    }
    Py_ssize_t k = j;
    while (k < text->length && Py_UNICODE_ISSPACE(at(text, k))) {
        k++;
    }
    if (k == j || k == text->length) {
        return -1;
    }
    if (is_opener(at(text, k))) {
        k++;
    }
    if (k == text->length || !is_alnum(at(text, k))) {
        return -1;
    }
    *next = at(text, k);
    return j;
}

/* text._INITIALS_RE.fullmatch: "U.S", "e.g", "a.m" */
static int
is_initials(const Text *text, Py_ssize_t start, Py_ssize_t end)
{
    Py_ssize_t length = end - start;
    if (length < 3 || length % 2 == 0) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 ch = at(text, start + i);
        int ok = i % 2 ? ch == '.' : ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'));
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

/* text._is_abbreviation: the "." at `dot` ends "Mr.", "U.S.", "J."; -1 on error. */
static int
ends_abbreviation(PyObject *string, const Text *text, Py_ssize_t dot, PyObject *abbreviations)
{
    Py_ssize_t start = dot; /* text._token_before: back to whitespace or an opening quote */
    while (start > 0) {
        Py_UCS4 ch = at(text, start - 1);
        if (Py_UNICODE_ISSPACE(ch) || ch == '(' || ch == '"' || ch == '\'' || ch == 0x201C ||
            ch == 0x2018) {
            break;
        }
        start--;
    }
    if (start == dot) {
        return 0;
    }
    PyObject *token = PyUnicode_Substring(string, start, dot);
    if (token == NULL) {
        return -1;
    }
    Token holder = {token, NULL};
    int found = lower_in(&holder, abbreviations);
    Py_XDECREF(holder.lower);
    Py_DECREF(token);
    if (found != 0) {
        return found;
    }
    if (dot - start == 1 && Py_UNICODE_ISUPPER(at(text, start))) {
        return 1; /* an initial: "John F. Kennedy" */
    }
    return is_initials(text, start, dot);
}

/* Append string[start:end].strip() unless it is empty. */
static int
append_stripped(PyObject *list, PyObject *string, const Text *text, Py_ssize_t start,
                Py_ssize_t end)
{
    while (start < end && Py_UNICODE_ISSPACE(at(text, start))) {
        start++;
    }
    while (end > start && Py_UNICODE_ISSPACE(at(text, end - 1))) {
        end--;
    }
    if (start == end) {
        return 0;
    }
    PyObject *sentence = PyUnicode_Substring(string, start, end);
    if (sentence == NULL) {
        return -1;
    }
    int status = PyList_Append(list, sentence);
    Py_DECREF(sentence);
    return status;
}

static PyObject *
split_sentences(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyAnySet_Check(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "split_sentences(abbreviations: frozenset, text: str)");
        return NULL;
    }
    PyObject *string = args[1];
    Text text = {PyUnicode_KIND(string), PyUnicode_DATA(string), PyUnicode_GET_LENGTH(string)};
    PyObject *sentences = PyList_New(0);
    Py_ssize_t start = 0, i = 0;
    while (sentences != NULL && i < text.length) {
        Py_UCS4 next = 0;
        Py_ssize_t end = sentence_end_at(&text, i, &next);
        if (end < 0) {
            i++;
            continue;
        }
        int keep = !Py_UNICODE_ISLOWER(next); /* "approx. five", "the U.S. economy" */
        if (keep && at(&text, i) == '.') {
            int abbreviation = ends_abbreviation(string, &text, i, args[0]);
            keep = abbreviation == 0;
            if (abbreviation < 0) {
                Py_CLEAR(sentences);
                break;
            }
        }
        if (keep) {
            if (append_stripped(sentences, string, &text, start, end) < 0) {
                Py_CLEAR(sentences);
                break;
            }
            start = end;
        }
        i = end; /* the scan goes on after the match, kept or not */
    }
    if (sentences != NULL && append_stripped(sentences, string, &text, start, text.length) < 0) {
        Py_CLEAR(sentences);
    }
    return sentences;
}

/* --- story grouping (ingest.StoryGrouper._assign_py) ------------------------------ */

/* Attribute names, made once (PyObject_GetAttrString makes a str every call). */
static PyObject *attr_names, *attr_status, *attr_input, *attr_published_at, *attr_signature,
    *attr_article_id;

static int
intern_attribute_names(void)
{
    struct {
        PyObject **name;
        const char *text;
    } names[] = {
        {&attr_names, "names"}, {&attr_status, "status"}, {&attr_input, "input"},
        {&attr_published_at, "published_at"}, {&attr_signature, "signature"},
        {&attr_article_id, "article_id"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *names[i].name = PyUnicode_InternFromString(names[i].text);
        if (*names[i].name == NULL) {
            return -1;
        }
    }
    return 0;
}

typedef struct {
    PyObject *read_signature; /* ingest._read_signature: text -> StorySignature or None */
    PyObject *postings;       /* dict: (key, key) -> list of indexes */
    PyObject *clusters, *sources, *signatures; /* the grouper's parallel lists */
    PyObject *same_story;     /* cluster.signatures_tell_same_story */
    Py_ssize_t posting_scan, max_comparisons;
} Grouper;

/* ingest._name_pairs: the sorted distinct name keys, every pair of them. */
static PyObject *
name_pairs(PyObject *names)
{
    PyObject *keys = PySet_New(NULL), *iterator = PyObject_GetIter(names), *name;
    int failed = keys == NULL || iterator == NULL;
    while (!failed && (name = PyIter_Next(iterator)) != NULL) {
        PyObject *key = PyUnicode_Substring(name, 0, NAME_KEY_CHARS);
        failed = key == NULL || PySet_Add(keys, key) < 0;
        Py_XDECREF(key);
        Py_DECREF(name);
    }
    Py_XDECREF(iterator);
    PyObject *sorted = failed || PyErr_Occurred() ? NULL : PySequence_List(keys);
    Py_XDECREF(keys);
    if (sorted == NULL || PyList_Sort(sorted) < 0) {
        Py_XDECREF(sorted);
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(sorted);
    PyObject *pairs = PyList_New(0);
    for (Py_ssize_t i = 0; pairs != NULL && i < count; i++) {
        for (Py_ssize_t j = i + 1; pairs != NULL && j < count; j++) {
            PyObject *pair = PyTuple_Pack(2, PyList_GET_ITEM(sorted, i), PyList_GET_ITEM(sorted, j));
            if (pair == NULL || PyList_Append(pairs, pair) < 0) {
                Py_CLEAR(pairs);
            }
            Py_XDECREF(pair);
        }
    }
    Py_DECREF(sorted);
    return pairs;
}

typedef struct {
    Py_ssize_t index;
    Py_ssize_t count;
} Candidate;

/* Largest first. */
DEFINE_SHELL_SORT(sort_descending, int64_t, GREATER)

#define COUNT_SHIFT 40 /* a candidate's sort key: its count above its index */

/* The candidates (recent articles sharing a name pair, each pair's last
 * posting_scan), most shared pairs first, then the most recent; their number, or
 * -1 on error. *out is PyMem memory the caller frees.
 */
static Py_ssize_t
ranked_candidates(const Grouper *g, PyObject *pairs, Candidate **out)
{
    Py_ssize_t npairs = PyList_GET_SIZE(pairs), total = 0;
    int64_t *values = PyMem_Malloc((size_t)(npairs * g->posting_scan + 1) * sizeof(int64_t));
    *out = NULL;
    if (values == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t p = 0; p < npairs; p++) {
        PyObject *list = PyDict_GetItemWithError(g->postings, PyList_GET_ITEM(pairs, p));
        if (list == NULL) {
            if (PyErr_Occurred()) {
                PyMem_Free(values);
                return -1;
            }
            continue;
        }
        Py_ssize_t size = PyList_GET_SIZE(list);
        for (Py_ssize_t i = size > g->posting_scan ? size - g->posting_scan : 0; i < size; i++) {
            values[total++] = PyLong_AsSsize_t(PyList_GET_ITEM(list, i));
        }
    }
    Candidate *candidates = PyMem_Malloc((size_t)(total + 1) * sizeof(Candidate));
    if (candidates == NULL || PyErr_Occurred()) {
        PyMem_Free(values);
        PyMem_Free(candidates);
        return candidates == NULL ? (PyErr_NoMemory(), -1) : -1;
    }
    sort_descending(values, total); /* one pair's list is in order already: cheap */
    Py_ssize_t distinct = 0;
    for (Py_ssize_t i = 0; i < total; i++) {
        if (distinct > 0 && values[distinct - 1] % ((int64_t)1 << COUNT_SHIFT) == values[i]) {
            values[distinct - 1] += (int64_t)1 << COUNT_SHIFT; /* one more pair shares it */
        }
        else {
            values[distinct++] = values[i] + ((int64_t)1 << COUNT_SHIFT);
        }
    }
    sort_descending(values, distinct); /* most shared pairs first, then the most recent */
    for (Py_ssize_t i = 0; i < distinct; i++) {
        candidates[i].count = (Py_ssize_t)(values[i] >> COUNT_SHIFT);
        candidates[i].index = (Py_ssize_t)(values[i] % ((int64_t)1 << COUNT_SHIFT));
    }
    PyMem_Free(values);
    *out = candidates;
    return distinct;
}

/* cluster.signatures_tell_same_story, called: the rule and its tuned thresholds have
 * one home, and it runs about once an article (1.2 us of the ~9 an item here).
 * -1 on error.
 */
static int
same_story(const Grouper *g, PyObject *a, PyObject *b)
{
    PyObject *result = PyObject_CallFunctionObjArgs(g->same_story, a, b, NULL);
    int answer = result == NULL ? -1 : PyObject_IsTrue(result);
    Py_XDECREF(result);
    return answer;
}

/* The cluster (a new reference) of the best candidate telling the same story, or
 * Py_None; NULL on error.
 */
static PyObject *
match_story(const Grouper *g, PyObject *parsed, long source_id, PyObject *pairs)
{
    Candidate *candidates;
    Py_ssize_t count = ranked_candidates(g, pairs, &candidates);
    if (count < 0) {
        return NULL;
    }
    PyObject *found = Py_None;
    Py_ssize_t compared = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t index = candidates[i].index;
        long source = PyLong_AsLong(PyList_GET_ITEM(g->sources, index));
        if (source == -1 && PyErr_Occurred()) {
            found = NULL;
            break;
        }
        if (source == source_id) {
            continue;
        }
        int same = same_story(g, parsed, PyList_GET_ITEM(g->signatures, index));
        if (same != 0) {
            found = same < 0 ? NULL : PyList_GET_ITEM(g->clusters, index);
            break;
        }
        if (++compared >= g->max_comparisons) {
            break;
        }
    }
    PyMem_Free(candidates);
    Py_XINCREF(found);
    return found;
}

/* StoryGrouper._add */
static int
remember(const Grouper *g, PyObject *cluster, PyObject *source, PyObject *parsed, PyObject *pairs)
{
    PyObject *index = PyLong_FromSsize_t(PyList_GET_SIZE(g->signatures));
    int status = index == NULL ? -1 : 0;
    if (status == 0) {
        status = PyList_Append(g->clusters, cluster) < 0 || PyList_Append(g->sources, source) < 0 ||
                 PyList_Append(g->signatures, parsed) < 0 ? -1 : 0;
    }
    for (Py_ssize_t p = 0; status == 0 && p < PyList_GET_SIZE(pairs); p++) {
        PyObject *fresh = PyList_New(0);
        PyObject *list = fresh == NULL ? NULL
                                       : PyDict_SetDefault(g->postings, PyList_GET_ITEM(pairs, p), fresh);
        status = list == NULL || PyList_Append(list, index) < 0 ? -1 : 0;
        Py_XDECREF(fresh);
    }
    Py_XDECREF(index);
    return status;
}

/* The signature of an item to group (a new reference), Py_None to skip it, NULL on error. */
static PyObject *
groupable(const Grouper *g, PyObject *item, PyObject *since)
{
    PyObject *status = PyObject_GetAttr(item, attr_status);
    int is_new = status == NULL ? -1 : PyUnicode_CompareWithASCIIString(status, "new") == 0;
    Py_XDECREF(status);
    if (is_new <= 0) {
        return is_new < 0 ? NULL : Py_NewRef(Py_None);
    }
    PyObject *input = PyObject_GetAttr(item, attr_input);
    if (input == NULL) {
        return NULL;
    }
    PyObject *result = NULL;
    int old = 0;
    if (since != Py_None) {
        PyObject *published = PyObject_GetAttr(input, attr_published_at);
        old = published == NULL ? -1 : PyObject_RichCompareBool(published, since, Py_LT);
        Py_XDECREF(published);
    }
    if (old == 0) {
        PyObject *text = PyObject_GetAttr(input, attr_signature);
        result = text == NULL ? NULL : PyObject_CallOneArg(g->read_signature, text);
        Py_XDECREF(text);
    }
    else if (old > 0) {
        result = Py_NewRef(Py_None); /* old news: outside the window of every recent story */
    }
    Py_DECREF(input);
    return result;
}

/* One item: grouped into `clusters` when it joins a story, remembered either way. */
static int
assign_item(const Grouper *g, PyObject *item, PyObject *since, PyObject *source, long source_id,
            PyObject *clusters)
{
    PyObject *parsed = groupable(g, item, since);
    if (parsed == NULL || parsed == Py_None) {
        Py_XDECREF(parsed);
        return parsed == NULL ? -1 : 0;
    }
    PyObject *names = PyObject_GetAttr(parsed, attr_names);
    PyObject *pairs = names == NULL ? NULL : name_pairs(names);
    PyObject *cluster = pairs == NULL ? NULL : match_story(g, parsed, source_id, pairs);
    PyObject *article_id = cluster == NULL ? NULL : PyObject_GetAttr(item, attr_article_id);
    int status = article_id == NULL ? -1 : 0;
    if (status == 0 && cluster != Py_None) {
        status = PyDict_SetItem(clusters, article_id, cluster);
    }
    if (status == 0) {
        int joined = cluster == Py_None ? 0 : PyObject_IsTrue(cluster);
        status = joined < 0 ? -1 : remember(g, joined ? cluster : article_id, source, parsed, pairs);
    }
    Py_XDECREF(parsed);
    Py_XDECREF(names);
    Py_XDECREF(pairs);
    Py_XDECREF(cluster);
    Py_XDECREF(article_id);
    return status;
}

static int
read_grouper(PyObject *state, Grouper *g)
{
    if (!PyTuple_Check(state) || PyTuple_GET_SIZE(state) != 8) {
        PyErr_SetString(PyExc_TypeError, "grouper state: an 8-tuple (see ingest.py)");
        return -1;
    }
    g->read_signature = PyTuple_GET_ITEM(state, 0);
    g->postings = PyTuple_GET_ITEM(state, 1);
    g->clusters = PyTuple_GET_ITEM(state, 2);
    g->sources = PyTuple_GET_ITEM(state, 3);
    g->signatures = PyTuple_GET_ITEM(state, 4);
    g->same_story = PyTuple_GET_ITEM(state, 5);
    g->posting_scan = PyLong_AsSsize_t(PyTuple_GET_ITEM(state, 6));
    g->max_comparisons = PyLong_AsSsize_t(PyTuple_GET_ITEM(state, 7));
    if (PyErr_Occurred()) {
        return -1;
    }
    if (!PyCallable_Check(g->read_signature) || !PyDict_Check(g->postings) ||
        !PyList_Check(g->clusters) || !PyList_Check(g->sources) || !PyList_Check(g->signatures) ||
        g->posting_scan < 1) {
        PyErr_SetString(PyExc_TypeError, "grouper state: wrong types (see ingest.py)");
        return -1;
    }
    return 0;
}

static PyObject *
assign_stories(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    Grouper g;
    if (nargs != 4 || read_grouper(args[0], &g) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "assign_stories(state, items, source_id, since)");
        }
        return NULL;
    }
    long source_id = PyLong_AsLong(args[2]);
    PyObject *items = PySequence_Fast(args[1], "items must be a sequence");
    PyObject *clusters = PyDict_New();
    if ((source_id == -1 && PyErr_Occurred()) || items == NULL || clusters == NULL) {
        Py_XDECREF(items);
        Py_XDECREF(clusters);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(items); i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(items, i);
        if (assign_item(&g, item, args[3], args[2], source_id, clusters) < 0) {
            Py_CLEAR(clusters);
            break;
        }
    }
    Py_DECREF(items);
    return clusters;
}

/* --- the module function ------------------------------------------------------- */

static PyObject *
signature_of_tokens(Tokens *tokens, const Py_ssize_t *starts, Py_ssize_t count,
                    const WordSets *sets, Py_ssize_t max_shingles)
{
    int titlecase = is_titlecase(tokens, starts[0], starts[1], sets);
    if (titlecase < 0) {
        return NULL;
    }
    PyObject *names = proper_nouns(tokens, starts, count, titlecase, sets);
    PyObject *sorted = names == NULL ? NULL : PySequence_List(names);
    Py_XDECREF(names);
    if (sorted == NULL || PyList_Sort(sorted) < 0) {
        Py_XDECREF(sorted);
        return NULL;
    }
    Hashes hashes = {PyMem_Malloc((size_t)(2 * tokens->size + 1) * sizeof(uint32_t)), 0};
    PyObject *shingles = NULL;
    if (hashes.values == NULL) {
        PyErr_NoMemory();
    }
    else if (collect_shingles(tokens, sets->stopwords, &hashes) == 0) {
        shingles = lowest_distinct(&hashes, max_shingles);
    }
    PyMem_Free(hashes.values);
    if (shingles == NULL) {
        Py_DECREF(sorted);
        return NULL;
    }
    return Py_BuildValue("(NN)", sorted, shingles);
}

static PyObject *
names_and_shingles(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyAnySet_Check(args[0]) || !PyAnySet_Check(args[1]) ||
        !PyAnySet_Check(args[2]) || !PyLong_Check(args[3]) || !PyList_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError,
                        "names_and_shingles(not_names, stopwords, titles: frozenset[str], "
                        "max_shingles: int, sentences: list[str])");
        return NULL;
    }
    PyObject *sentences = args[4];
    Py_ssize_t count = PyList_GET_SIZE(sentences);
    Py_ssize_t max_shingles = PyLong_AsSsize_t(args[3]);
    if (count < 1 || (max_shingles == -1 && PyErr_Occurred())) {
        PyErr_SetString(PyExc_ValueError, "needs the headline and a shingle limit");
        return NULL;
    }
    WordSets sets = {args[0], args[1], args[2]};
    Tokens tokens = {NULL, 0, 0};
    Py_ssize_t *starts = PyMem_Malloc((size_t)(count + 1) * sizeof(Py_ssize_t));
    PyObject *result = NULL;
    if (starts == NULL) {
        return PyErr_NoMemory();
    }
    for (Py_ssize_t s = 0; s < count; s++) {
        PyObject *sentence = PyList_GET_ITEM(sentences, s);
        starts[s] = tokens.size;
        if (!PyUnicode_Check(sentence)) {
            PyErr_SetString(PyExc_TypeError, "sentences must be str");
            goto done;
        }
        if (tokenize(sentence, &tokens) < 0) {
            goto done;
        }
    }
    starts[count] = tokens.size;
    result = signature_of_tokens(&tokens, starts, count, &sets, max_shingles);
done:
    tokens_clear(&tokens);
    PyMem_Free(starts);
    return result;
}

static PyMethodDef methods[] = {
    {"assign_stories", (PyCFunction)(void (*)(void))assign_stories, METH_FASTCALL,
     "ingest.StoryGrouper._assign_py in C (state, items, source_id, since)."},
    {"split_sentences", (PyCFunction)(void (*)(void))split_sentences, METH_FASTCALL,
     "text.split_sentences_py in C (abbreviations, text)."},
    {"names_and_shingles", (PyCFunction)(void (*)(void))names_and_shingles, METH_FASTCALL,
     "(sorted names, sorted shingles) of [headline, *lead sentences]; see cluster.py."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_speedups",
    .m_doc = "Story signature word work (see cluster.py).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    make_crc_table();
    if (intern_attribute_names() < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module != NULL && PyModule_AddIntConstant(module, "NAME_KEY_CHARS", NAME_KEY_CHARS) < 0) {
        Py_CLEAR(module);
    }
    return module;
}
