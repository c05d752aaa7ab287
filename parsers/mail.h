/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The parsed form of one e-mail: everything later stages need, decoded to UTF-8. */
#ifndef M2T_PARSERS_MAIL_H
#define M2T_PARSERS_MAIL_H

#include <glib.h>

struct mail_address {
	char *name;  /* display name, UTF-8, may be NULL */
	char *email; /* addr-spec as written, may be NULL for groups or garbage */
};

struct mail_attachment {
	char *filename;     /* decoded, never NULL */
	char *content_type; /* "type/subtype", lower case */
	char *content_id;   /* without angle brackets, or NULL */
	gboolean is_inline;
	GBytes *data; /* transfer encoding removed; NULL when only its size was read (a dry run) */
	gsize size;   /* of the decoded bytes */
};

struct mail_header {
	char *name;
	char *value; /* unfolded and RFC 2047 decoded */
};

enum mail_text_source { MAIL_TEXT_NONE, MAIL_TEXT_PLAIN, MAIL_TEXT_HTML };

/* A multipart/report (RFC 6522): a bounce or delivery delay (delivery-status, RFC 3464) or a
 * read receipt (disposition-notification, RFC 8098). Fields are NULL when the report lacks them. */
struct mail_report {
	char *type;	  /* the report-type parameter */
	char *action;	  /* failed, delayed, delivered, relayed, expanded */
	char *status;	  /* "5.1.1" */
	char *recipient;  /* Final-Recipient, without the "rfc822;" */
	char *diagnostic; /* Diagnostic-Code */
	char *disposition;
	char *original_message_id; /* of the mail the report is about */
};

/* What cutting the reply text takes, until it is cut (mail_parse.c): only replies and agents'
 * forwards use the cut, so it is made when first asked for. */
struct mail_reply_cut {
	gsize body_len; /* text begins with the body the cut is made in */
	char *calendar; /* the invitation's summary text has after the body, or NULL */
	char *note;	/* the note on files left out after that, or NULL */
	char **markers; /* [parser] reply_marker, NULL-terminated, or NULL */
};

struct mail {
	char *subject; /* never NULL; "" when the mail has none */
	struct mail_address from;
	GPtrArray *to;	 /* of struct mail_address */
	GPtrArray *cc;	 /* of struct mail_address */
	GDateTime *date; /* NULL when missing or unreadable */
	char *message_id;
	char *in_reply_to;
	GPtrArray *references; /* of char *, oldest first */
	char *text;	       /* never NULL; the whole text, notes included */
	/* Text without quoted history and signature: read it with mail_reply_text() (mail_parse.h),
	 * which cuts it on first use. */
	char *reply_text;
	enum mail_text_source text_source;
	struct mail_report *report; /* NULL unless the mail is a multipart/report */
	/* The sender of the first attached message/rfc822, else the one named in the first quoted
	 * or forwarded header block of the text ("From: Jane <jane@x>" under a forwarding banner or
	 * an Outlook separator): who originally wrote what an agent forwards. NULLs when none.
	 * Read it with mail_original_sender() (mail_parse.h): the text is searched with the reply
	 * cut. */
	struct mail_address original_sender;
	/* NULL once the reply text is cut; one thread at a time owns a mail, so the cut needs no
	 * lock though it is made behind a const pointer. */
	struct mail_reply_cut *reply_cut;
	GPtrArray *attachments; /* of struct mail_attachment */
	GPtrArray *headers;	/* of struct mail_header, top level, in order */
	GPtrArray *warnings;	/* of char *: what could not be read as the sender meant */
	GPtrArray *omitted;	/* of char *: attachments left out, with the reason */
	gsize raw_size;
	/* Hex SHA-256 of the raw bytes; "" unless the mail has no Message-ID (then its key is made
	 * of it) or it was asked for: hashing costs more than parsing. */
	char raw_sha256[65];
	/* Hex SHA-256 from where the mail's own bytes begin, past the lines its last hop adds anew
	 * to each delivery (see mail_key.c); the key of a mail without a Message-ID, so that an
	 * MTA's retry, or another recipient's copy, finds the first. "" when the mail has one. */
	char content_sha256[65];
	/* With a Message-ID: 16 hex digits of a digest of From, Date, Subject and the body (see
	 * mail_key.c), which tell apart two mails that carry one Message-ID. */
	char identity[17];
	/* The raw bytes while the digests above are still to be made
	 * (parse_options.keys_on_demand): mail_key() makes them and lets go of these. NULL
	 * otherwise. */
	GBytes *key_source;
};

struct mail *mail_new(void); /* empty mail, free with mail_free() */
void mail_reply_cut_free(struct mail_reply_cut *cut);
void mail_free(struct mail *mail);

/* The first value of a top-level header, or NULL; borrowed from mail. */
const char *mail_header_value(const struct mail *mail, const char *name);

void mail_add_warning(struct mail *mail, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

void mail_address_free(struct mail_address *addr);

#endif
