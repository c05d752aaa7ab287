/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bare GMime loop the parse benchmark compares mail2ticket with: GMime's own mbox mode over
 * the whole file, and for each message every part's content decoded (to nowhere), the least any
 * program that reads mail must do. Prints messages and bytes. */
#include <gmime/gmime.h>
#include <stdio.h>

static void decode_part(GMimeObject *parent, GMimeObject *part, gpointer null_stream)
{
	(void)parent;
	if (GMIME_IS_PART(part) && g_mime_part_get_content(GMIME_PART(part)))
		g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(GMIME_PART(part)),
						    null_stream);
}

int main(int argc, char **argv)
{
	GMimeStream *stream, *null_stream;
	GMimeParser *parser;
	long messages = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s MBOX\n", argv[0]);
		return 64;
	}
	g_mime_init();
	stream = g_mime_stream_file_open(argv[1], "r", NULL);
	if (!stream) {
		fprintf(stderr, "cannot open %s\n", argv[1]);
		return 66;
	}
	null_stream = g_mime_stream_null_new();
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MBOX);
	while (!g_mime_parser_eos(parser)) {
		GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
		if (!msg)
			break;
		(void)g_mime_message_get_subject(msg);
		g_mime_message_foreach(msg, decode_part, null_stream);
		g_object_unref(msg);
		messages++;
	}
	printf("%ld messages\n", messages);
	g_object_unref(parser);
	g_object_unref(null_stream);
	g_object_unref(stream);
	g_mime_shutdown();
	return 0;
}
