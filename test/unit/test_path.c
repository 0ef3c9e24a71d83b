/*
 * test_path.c: tf_path_within, the check that confines model paths to
 * transformer.model_directory: the root, trailing slashes, and directories
 * whose names are prefixes of one another.
 */
#include <stdbool.h>

#include "tap.h"
#include "tf_path.h"

/* One case: dir, path, whether path lies within dir. */
typedef struct PathCase
{
	const char *dir;
	const char *path;
	bool		within;
} PathCase;

int
main(void)
{
	static const PathCase cases[] = {
		{"/", "/", true},
		{"/", "/etc", true},
		{"/", "/a/models/m", true},
		{"/a/models", "/a/models", true},
		{"/a/models", "/a/models/m", true},
		{"/a/models", "/a/models/m/n", true},
		{"/a/models/", "/a/models/m", true},
		{"/a/models/", "/a/models", true},
		{"/a/models", "/a/models2", false},
		{"/a/models", "/a/models2/m", false},
		{"/a/models", "/a/model", false},
		{"/a/models", "/a", false},
		{"/a/models", "/", false},
		{"/a/models", "/b/models/m", false},
		{"/a/models", "/a/modelsm", false},
		{"/a/models/", "/a/models2", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(tf_path_within(cases[i].dir, cases[i].path) == cases[i].within,
		   "\"%s\" %s \"%s\"", cases[i].path, cases[i].within ? "is within" : "is not within",
		   cases[i].dir);
	return done_testing();
}
