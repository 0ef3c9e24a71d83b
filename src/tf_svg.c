/*
 * tf_svg.c: SVG heat maps of attention (see tf_svg.h).
 */
#include "tf_svg.h"
#include "tf_runtime.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CELL 22					/* px per cell, both ways */
#define FONT 12					/* px */
#define GAP 6					/* px between labels and the grid */
#define HEADER 48				/* px for the title and the axes line */
#define BAR_WIDTH 16			/* px */
#define MAX_LABEL 360			/* px: longer labels overflow the margin */

static const char REPLACEMENT[] = "\xEF\xBF\xBD";	/* U+FFFD */

static void put(TfBuffer *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* Append printf-formatted text (at most 511 bytes: numbers and markup). */
static void
put(TfBuffer *b, const char *fmt,...)
{
	char		tmp[512];
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	tf_buffer_append(b, tmp, n < (int) sizeof(tmp) ? (size_t) n : sizeof(tmp) - 1);
}

/* Length of the UTF-8 sequence at s (at most n bytes) when it is a valid
 * one that XML 1.0 allows; 0 otherwise. *wide: an East Asian or other
 * broad character, for width estimates. */
static int
xml_char_length(const unsigned char *s, size_t n, int *wide)
{
	uint32_t	cp;
	int			len;

	if (s[0] < 0x80)
	{
		*wide = 0;
		return s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' || s[0] == '\r' ? 1 : 0;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if ((size_t) len > n)
		return 0;
	for (int i = 1; i < len; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	/* overlong forms, surrogates, beyond U+10FFFF, U+FFFE and U+FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		(cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
		return 0;
	*wide = cp >= 0x1100;
	return len;
}

void
tf_svg_escape(TfBuffer *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	while (i < n)
	{
		int			wide;
		int			len = xml_char_length(p + i, n - i, &wide);

		if (len == 0)
		{
			tf_buffer_append(b, REPLACEMENT, 3);
			i++;
			continue;
		}
		switch (p[i])
		{
			case '&':
				tf_buffer_append(b, "&amp;", 5);
				break;
			case '<':
				tf_buffer_append(b, "&lt;", 4);
				break;
			case '>':
				tf_buffer_append(b, "&gt;", 4);
				break;
			case '"':
				tf_buffer_append(b, "&quot;", 6);
				break;
			case '\'':
				tf_buffer_append(b, "&apos;", 6);
				break;
			default:
				tf_buffer_append(b, p + i, len);
		}
		i += len;
	}
}

/* Estimated drawn width of text s at FONT px, in px, at most cap. */
static int
text_width(const char *s, int cap)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		n = strlen(s);
	int			w = 0;

	for (size_t i = 0; i < n && w < cap;)
	{
		int			wide;
		int			len = xml_char_length(p + i, n - i, &wide);

		w += wide ? FONT : FONT * 2 / 3;
		i += len > 0 ? len : 1;
	}
	return w < cap ? w : cap;
}

/* Widest of n labels, in px. */
static int
widest(const char *const *labels, int n)
{
	int			w = 0;

	for (int i = 0; i < n; i++)
		if (text_width(labels[i], MAX_LABEL) > w)
			w = text_width(labels[i], MAX_LABEL);
	return w;
}

/* Colour of weight v in [0, 1] of the scale: white to dark blue
 * (#08306b), linear in each channel. */
static void
put_colour(TfBuffer *b, double v)
{
	static const int dark[3] = {0x08, 0x30, 0x6b};
	int			rgb[3];

	v = v < 0 ? 0 : v > 1 ? 1 : v;
	for (int c = 0; c < 3; c++)
		rgb[c] = (int) (255 + (dark[c] - 255) * v + 0.5);
	put(b, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

char *
tf_svg_heatmap(const TfHeatMap *map, size_t *len)
{
	TfBuffer	b;
	float		max = 0;
	int			left = widest(map->row_labels, map->n_rows) + GAP + 8;
	int			top = HEADER + widest(map->col_labels, map->n_cols) + GAP;
	int			grid_w = map->n_cols * CELL;
	int			grid_h = map->n_rows * CELL;
	int			bar_x = left + grid_w + 20;
	int			bar_h = grid_h < 200 ? (grid_h > 60 ? grid_h : 60) : 200;
	int			width = bar_x + BAR_WIDTH + 70;
	int			height = top + (grid_h > bar_h ? grid_h : bar_h) + 16;
	/* the title is drawn at 15 px, bold */
	int			title_w = text_width(map->title, 1 << 20) * 3 / 2 + 20;

	if (title_w > width)
		width = title_w;
	if (text_width(map->axes, 1 << 20) + 20 > width)
		width = text_width(map->axes, 1 << 20) + 20;
	for (size_t c = 0; c < (size_t) map->n_rows * map->n_cols; c++)
		if (map->values[c] > max)
			max = map->values[c];

	tf_buffer_init(&b, 4096 + (size_t) map->n_rows * map->n_cols * 96);
	put(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"%d\">\n",
		width, height, width, height, FONT);
	put(&b, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, height);
	put(&b, "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">");
	tf_svg_escape(&b, map->title, strlen(map->title));
	put(&b, "</text>\n<text x=\"10\" y=\"38\" fill=\"#555555\">");
	tf_svg_escape(&b, map->axes, strlen(map->axes));
	put(&b, "</text>\n");

	/* column labels, upwards from just above the grid */
	for (int j = 0; j < map->n_cols; j++)
	{
		int			x = left + j * CELL + CELL / 2 + FONT / 3;
		int			y = top - GAP;

		put(&b, "<text x=\"%d\" y=\"%d\" transform=\"rotate(-90 %d %d)\">", x, y, x, y);
		tf_svg_escape(&b, map->col_labels[j], strlen(map->col_labels[j]));
		put(&b, "</text>\n");
	}
	/* row labels, right-aligned against the grid */
	for (int i = 0; i < map->n_rows; i++)
	{
		put(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - GAP,
			top + i * CELL + CELL / 2 + FONT / 3);
		tf_svg_escape(&b, map->row_labels[i], strlen(map->row_labels[i]));
		put(&b, "</text>\n");
	}
	/* the cells, each with its tooltip */
	for (int i = 0; i < map->n_rows; i++)
		for (int j = 0; j < map->n_cols; j++)
		{
			float		v = map->values[(size_t) i * map->n_cols + j];

			put(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"",
				left + j * CELL, top + i * CELL, CELL, CELL);
			put_colour(&b, max > 0 ? v / max : 0);
			put(&b, "\"><title>");
			tf_svg_escape(&b, map->row_labels[i], strlen(map->row_labels[i]));
			put(&b, " \xE2\x86\x92 ");	/* U+2192 rightwards arrow */
			tf_svg_escape(&b, map->col_labels[j], strlen(map->col_labels[j]));
			put(&b, ": %.4f</title></rect>\n", v);
		}
	put(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888888\"/>\n",
		left, top, grid_w, grid_h);

	/* the colour bar: the largest weight at the top, 0 at the bottom */
	put(&b, "<defs><linearGradient id=\"scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"
		"<stop offset=\"0\" stop-color=\"");
	put_colour(&b, 0);
	put(&b, "\"/><stop offset=\"1\" stop-color=\"");
	put_colour(&b, 1);
	put(&b, "\"/></linearGradient></defs>\n");
	put(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"url(#scale)\" stroke=\"#888888\"/>\n",
		bar_x, top, BAR_WIDTH, bar_h);
	put(&b, "<text x=\"%d\" y=\"%d\">%.3g</text>\n", bar_x + BAR_WIDTH + 4, top + FONT, max);
	put(&b, "<text x=\"%d\" y=\"%d\">0</text>\n", bar_x + BAR_WIDTH + 4, top + bar_h);
	put(&b, "</svg>\n");
	*len = b.len;
	return b.data;
}
