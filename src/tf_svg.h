/*
 * tf_svg.h: attention maps drawn as SVG heat maps.
 *
 * The picture: a title line and a line naming the axes at the top, the
 * column labels above the grid (written upwards), the row labels to its
 * left, one square cell per weight coloured from white (0) to dark blue
 * (the map's largest weight), each with a tooltip giving both tokens and
 * the weight, and a colour bar on the right labelled 0 and that largest
 * weight. Labels and titles are escaped for XML: & < > " ' become entity
 * references, and characters XML 1.0 does not allow (control characters,
 * U+FFFE, U+FFFF, invalid UTF-8) become U+FFFD.
 */
#ifndef TF_SVG_H
#define TF_SVG_H

#include <stddef.h>

#include "tf_runtime.h"

/* What to draw: values[n_rows, n_cols], all >= 0 (probabilities). */
typedef struct TfHeatMap
{
	const char *title;			/* first line, e.g. model, layer and head */
	const char *axes;			/* second line, e.g. "rows: queries, columns: keys" */
	int			n_rows;
	int			n_cols;
	const char *const *row_labels;	/* [n_rows], UTF-8 */
	const char *const *col_labels;	/* [n_cols], UTF-8 */
	const float *values;		/* float[n_rows, n_cols] */
} TfHeatMap;

/* The SVG document of a heat map: tf_alloc'd, NUL-terminated, *len bytes. */
char	   *tf_svg_heatmap(const TfHeatMap *map, size_t *len);

/* Append s[0..n) to b escaped for XML text and attribute values. */
void		tf_svg_escape(TfBuffer *b, const char *s, size_t n);

#endif							/* TF_SVG_H */
