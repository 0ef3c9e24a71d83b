/*
 * pg_attention.c: attention maps and translation alignments from SQL, as
 * rows and as SVG pictures (sql/30_attention.sql documents each function).
 *
 * Layers, heads and token positions count from 0, as Hugging Face's
 * output_attentions tuples and bertviz do. The core records the maps of
 * one text (tf_attention.h); this file picks the layers and heads asked
 * for, bounds the rows, names the tokens and draws the pictures.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "pg_transformer.h"
#include "tf_alignment.h"
#include "tf_bert.h"
#include "tf_svg.h"

/* Most rows one call of attention() or alignment() returns: every layer
 * and head of a 6-layer, 12-head model for texts up to 117 tokens; one
 * map of up to 1000 x 1000 tokens; never all of a 512-token text's. */
#define ATTENTION_MAX_ROWS 1000000

PG_FUNCTION_INFO_V1(attention);
PG_FUNCTION_INFO_V1(attention_svg);
PG_FUNCTION_INFO_V1(alignment);
PG_FUNCTION_INFO_V1(alignment_summary);
PG_FUNCTION_INFO_V1(alignment_svg);

/* One text's maps and what the rows and pictures call things. */
typedef struct Maps
{
	PgtfModelRef ref;
	TfAttentionMaps maps;
	const char *kind;			/* "self-attention" or "cross-attention" */
	const char *row_name;		/* what a map's rows are: "query", "target" */
	const char *col_name;		/* its columns: "key", "source" */
	char	  **row_labels;		/* [maps.queries]: UTF-8 tokens */
	char	  **col_labels;		/* [maps.keys] */
	char	   *translation;	/* cross-attention only: UTF-8, NUL-terminated */
} Maps;

/* The tokens of ids[n] in vocabulary `vocab`, as NUL-terminated UTF-8. */
static char **
token_labels(const void *image, const TfVocab *vocab, const int32 *ids, int n)
{
	char	  **labels = palloc(sizeof(char *) * (n + 1));

	for (int i = 0; i < n; i++)
	{
		uint32_t	len;
		const char *token = tf_vocab_token(image, vocab, ids[i], &len);

		labels[i] = pnstrdup(token, len);
	}
	return labels;
}

/*
 * Self-attention of argument 0 under the model named by argument 1 (NULL:
 * transformer.embedding_model): a BERT model's, or a Marian model's
 * encoder's. Computed in the current memory context.
 */
static void
self_attention_maps(FunctionCallInfo fcinfo, Maps *out)
{
	size_t		len;
	const char *utf8 = pgtf_text_utf8(PG_GETARG_TEXT_PP(0), &len);
	const TfVocab *vocab;
	TfError		err;

	out->ref = pgtf_model_lookup(pgtf_model_arg(fcinfo, 1), 0, "transformer.embedding_model");
	out->kind = "self-attention";
	out->row_name = "query";
	out->col_name = "key";
	out->translation = NULL;
	if (out->ref.header->arch == TF_ARCH_BERT)
	{
		const TfBertModel *m = out->ref.model;

		tf_bert_attention(out->ref.image, m, utf8, len, &out->maps);
		vocab = &m->tokenizer.vocab;
	}
	else
	{
		const TfMarianModel *m = out->ref.model;

		if (!tf_marian_encoder_attention(out->ref.image, m, utf8, len, &out->maps, &err))
			pgtf_report(&err);
		vocab = &m->source_vocab;
	}
	out->row_labels = token_labels(out->ref.image, vocab, out->maps.query_ids, out->maps.queries);
	out->col_labels = out->row_labels;
}

/*
 * The alignment of argument 0's translation under the Marian model named
 * by argument 1 (NULL: transformer.translation_model), decoded with
 * num_beams and max_length from arguments 2 and 3 as translate() does.
 */
static void
cross_attention_maps(FunctionCallInfo fcinfo, Maps *out)
{
	size_t		len;
	const char *utf8 = pgtf_text_utf8(PG_GETARG_TEXT_PP(0), &len);
	TfGenerateOverrides session;
	TfGenerateOverrides call;
	const TfMarianModel *m;
	size_t		translation_len;
	TfError		err;

	out->ref = pgtf_model_lookup(pgtf_model_arg(fcinfo, 1), TF_ARCH_MARIAN,
								 "transformer.translation_model");
	m = out->ref.model;
	out->kind = "cross-attention";
	out->row_name = "target";
	out->col_name = "source";
	pgtf_generate_overrides(fcinfo, 2, &session, &call);
	if (!tf_marian_align(out->ref.image, m, &session, &call, utf8, len, &out->maps,
						 &out->translation, &translation_len, &err))
		pgtf_report(&err);
	out->row_labels = token_labels(out->ref.image, &m->target_vocab, out->maps.query_ids,
								   out->maps.queries);
	out->col_labels = token_labels(out->ref.image, &m->source_vocab, out->maps.key_ids,
								   out->maps.keys);
}

/*
 * The layer a picture or summary shows when none is chosen: the last one
 * for self-attention; for an alignment the penultimate decoder layer (the
 * last when there is one), whose head average lines up with word
 * alignments best (Garg et al. 2019, "Jointly learning to align and
 * translate with transformer models", found the same), as on the shipped
 * marian-en-de: "A man is riding a bicycle in the park." aligns Ein-A,
 * Mann-man, Fahrrad-bicycle, im-in, Park-park there.
 */
static int
default_layer(const Maps *m)
{
	if (m->translation != NULL && m->maps.layers >= 2)
		return m->maps.layers - 2;
	return m->maps.layers - 1;
}

/*
 * Argument `argno` as a layer (what = "layer", of `count`) or head number:
 * -1 when NULL (all of them), an ERROR when out of range.
 */
static int
index_arg(FunctionCallInfo fcinfo, int argno, const char *what, int count, const Maps *maps)
{
	int			v;

	if (PG_ARGISNULL(argno))
		return -1;
	v = PG_GETARG_INT32(argno);
	if (v < 0 || v >= count)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %d is out of range", what, v),
				 errdetail("The %s of model \"%s\" has %d %ss, numbered 0 to %d.",
						   maps->kind, maps->ref.name, count, what, count - 1)));
	return v;
}

/*
 * Rows (layer, head, row position, row token, column position, column
 * token, weight) for the chosen layer and head (-1: each), erroring when
 * there would be more than ATTENTION_MAX_ROWS.
 */
static void
put_rows(FunctionCallInfo fcinfo, const Maps *m, int layer, int head)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const TfAttentionMaps *a = &m->maps;
	int			n_layers = layer < 0 ? a->layers : 1;
	int			n_heads = head < 0 ? a->heads : 1;
	double		rows = (double) n_layers * n_heads * a->queries * a->keys;
	text	  **row_text = palloc(sizeof(text *) * (a->queries + 1));
	text	  **col_text = palloc(sizeof(text *) * (a->keys + 1));

	if (rows > ATTENTION_MAX_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s would return %.0f rows, more than %d", m->kind, rows, ATTENTION_MAX_ROWS),
				 errdetail("The text has %d %s and %d %s tokens over %d layers of %d heads.",
						   a->queries, m->row_name, a->keys, m->col_name, n_layers, n_heads),
				 errhint("Choose a layer or a head, or a shorter text.")));
	for (int i = 0; i < a->queries; i++)
		row_text[i] = pgtf_utf8_text(m->row_labels[i], strlen(m->row_labels[i]));
	for (int j = 0; j < a->keys; j++)
		col_text[j] = pgtf_utf8_text(m->col_labels[j], strlen(m->col_labels[j]));
	for (int l = 0; l < a->layers; l++)
		for (int h = 0; h < a->heads; h++)
		{
			const float *w;

			if ((layer >= 0 && l != layer) || (head >= 0 && h != head))
				continue;
			CHECK_FOR_INTERRUPTS();
			w = tf_attention_map(a, l, h);
			for (int i = 0; i < a->queries; i++)
				for (int j = 0; j < a->keys; j++)
				{
					Datum		values[7] = {
						Int32GetDatum(l), Int32GetDatum(h),
						Int32GetDatum(i), PointerGetDatum(row_text[i]),
						Int32GetDatum(j), PointerGetDatum(col_text[j]),
						Float4GetDatum(w[(size_t) i * a->keys + j]),
					};
					bool		nulls[7] = {0};

					tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
				}
		}
}

/*
 * The picture of one layer (NULL: default_layer) and one head (NULL: the
 * average of all), as a text value in the caller's memory context. A
 * NOTICE says when the text was cut to the model's length.
 */
static text *
draw(FunctionCallInfo fcinfo, const Maps *m, int layer_arg, int head_arg, MemoryContext caller)
{
	const TfAttentionMaps *a = &m->maps;
	int			layer = index_arg(fcinfo, layer_arg, "layer", a->layers, m);
	int			head = index_arg(fcinfo, head_arg, "head", a->heads, m);
	float	   *values = palloc(sizeof(float) * ((size_t) a->queries * a->keys + 1));
	TfHeatMap	map;
	char	   *svg;
	size_t		len;

	if (layer < 0)
		layer = default_layer(m);
	if (head < 0)
		tf_attention_head_average(a, layer, values);
	else
		memcpy(values, tf_attention_map(a, layer, head), sizeof(float) * a->queries * a->keys);
	if (a->truncated)
		ereport(NOTICE,
				(errmsg("the text was truncated to the %d tokens model \"%s\" takes",
						a->keys, m->ref.name)));
	map.title = head < 0
		? psprintf("%s: %s, layer %d, average of %d heads", m->ref.name, m->kind, layer, a->heads)
		: psprintf("%s: %s, layer %d, head %d", m->ref.name, m->kind, layer, head);
	map.axes = m->translation != NULL
		? psprintf("rows: target tokens of \"%s\", columns: source tokens", m->translation)
		: "rows: query tokens, columns: key tokens";
	map.n_rows = a->queries;
	map.n_cols = a->keys;
	map.row_labels = (const char *const *) m->row_labels;
	map.col_labels = (const char *const *) m->col_labels;
	map.values = values;
	svg = tf_svg_heatmap(&map, &len);
	MemoryContextSwitchTo(caller);
	return pgtf_utf8_text(svg, len);
}

/* How one text's maps are computed: self_attention_maps or
 * cross_attention_maps. */
typedef void (*MapsFunction) (FunctionCallInfo fcinfo, Maps *out);

/* A rows function: the maps of argument 0 by `compute`, the layer and head
 * chosen by arguments layer_arg and layer_arg + 1. */
static Datum
rows_call(FunctionCallInfo fcinfo, MapsFunction compute, int layer_arg)
{
	MemoryContext scratch;
	Maps		m;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	scratch = pgtf_compute_begin();
	compute(fcinfo, &m);
	put_rows(fcinfo, &m, index_arg(fcinfo, layer_arg, "layer", m.maps.layers, &m),
			 index_arg(fcinfo, layer_arg + 1, "head", m.maps.heads, &m));
	pgtf_compute_end(scratch);
	return (Datum) 0;
}

/* A picture function, arguments as rows_call's. */
static Datum
picture_call(FunctionCallInfo fcinfo, MapsFunction compute, int layer_arg)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext scratch;
	Maps		m;
	text	   *svg;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	scratch = pgtf_compute_begin();
	compute(fcinfo, &m);
	svg = draw(fcinfo, &m, layer_arg, layer_arg + 1, caller);
	pgtf_compute_end(scratch);
	PG_RETURN_TEXT_P(svg);
}

/*
 * attention(input text, model text DEFAULT NULL, layer int DEFAULT NULL,
 * head int DEFAULT NULL) RETURNS TABLE(layer, head, query_position,
 * query_token, key_position, key_token, weight)
 */
Datum
attention(PG_FUNCTION_ARGS)
{
	return rows_call(fcinfo, self_attention_maps, 2);
}

/* attention_svg(input text, model text DEFAULT NULL, layer int DEFAULT
 * NULL, head int DEFAULT NULL) RETURNS text */
Datum
attention_svg(PG_FUNCTION_ARGS)
{
	return picture_call(fcinfo, self_attention_maps, 2);
}

/*
 * alignment(input text, model text DEFAULT NULL, num_beams int DEFAULT
 * NULL, max_length int DEFAULT NULL, layer int DEFAULT NULL, head int
 * DEFAULT NULL) RETURNS TABLE(layer, head, target_position, target_token,
 * source_position, source_token, weight)
 */
Datum
alignment(PG_FUNCTION_ARGS)
{
	return rows_call(fcinfo, cross_attention_maps, 4);
}

/* alignment_svg(input text, model text DEFAULT NULL, num_beams int DEFAULT
 * NULL, max_length int DEFAULT NULL, layer int DEFAULT NULL, head int
 * DEFAULT NULL) RETURNS text */
Datum
alignment_svg(PG_FUNCTION_ARGS)
{
	return picture_call(fcinfo, cross_attention_maps, 4);
}

/*
 * alignment_summary(input text, model text DEFAULT NULL, num_beams int
 * DEFAULT NULL, max_length int DEFAULT NULL, layer int DEFAULT NULL)
 * RETURNS TABLE(target_position, target_token, source_position,
 * source_token, weight): per target token, the source token with the
 * highest weight averaged over the heads of `layer` (NULL: default_layer).
 */
Datum
alignment_summary(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext scratch;
	Maps		m;
	int			layer;
	float	   *avg;			/* float[queries, keys] */

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	scratch = pgtf_compute_begin();
	cross_attention_maps(fcinfo, &m);
	layer = index_arg(fcinfo, 4, "layer", m.maps.layers, &m);
	avg = palloc(sizeof(float) * ((size_t) m.maps.queries * m.maps.keys + 1));
	tf_attention_head_average(&m.maps, layer < 0 ? default_layer(&m) : layer, avg);
	for (int i = 0; i < m.maps.queries; i++)
	{
		const float *row = avg + (size_t) i * m.maps.keys;
		int			best = 0;
		Datum		values[5];
		bool		nulls[5] = {0};

		for (int j = 1; j < m.maps.keys; j++)
			if (row[j] > row[best])
				best = j;
		values[0] = Int32GetDatum(i);
		values[1] = PointerGetDatum(pgtf_utf8_text(m.row_labels[i], strlen(m.row_labels[i])));
		values[2] = Int32GetDatum(best);
		values[3] = PointerGetDatum(pgtf_utf8_text(m.col_labels[best], strlen(m.col_labels[best])));
		values[4] = Float4GetDatum(row[best]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pgtf_compute_end(scratch);
	return (Datum) 0;
}

