#include "rules/route.h"

#include <string.h>

void action_free(struct action *action)
{
	if (!action)
		return;
	g_free(action->priority);
	g_free(action->name);
	g_free(action->email);
	g_free(action->reason);
	g_free(action);
}

/* Department from the address the mail was sent to, the way WHMCS's own piping routes: envelope
 * recipient first (the MTA knows it for sure), then Delivered-To, To and Cc. */
static int department_by_recipient(const struct config *config, const struct mail *mail,
				   const struct envelope *envelope, char **why)
{
	int id;

	if (envelope && envelope->recipient &&
	    (id = config_department_for_address(config, envelope->recipient))) {
		*why = g_strdup_printf("department %d from envelope recipient %s", id,
				       envelope->recipient);
		return id;
	}
	for (guint i = 0; i < mail->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(mail->headers, i);
		if (g_ascii_strcasecmp(h->name, "Delivered-To") == 0 &&
		    (id = config_department_for_address(config, g_strstrip(h->value)))) {
			*why = g_strdup_printf("department %d from Delivered-To %s", id, h->value);
			return id;
		}
	}
	for (int list = 0; list < 2; list++) {
		const GPtrArray *addrs = list == 0 ? mail->to : mail->cc;
		for (guint i = 0; i < addrs->len; i++) {
			const struct mail_address *a = g_ptr_array_index(addrs, i);
			if ((id = config_department_for_address(config, a->email))) {
				*why = g_strdup_printf("department %d from %s %s", id,
						       list == 0 ? "To" : "Cc", a->email);
				return id;
			}
		}
	}
	*why = g_strdup_printf("department %d: default, no recipient is in [departments]",
			       config->desk.default_department);
	return config->desk.default_department;
}

struct action *route_decide(const struct config *config, const struct mail *mail,
			    const struct envelope *envelope)
{
	struct action *action = g_new0(struct action, 1);
	const char *email = mail->from.email;

	if (!email && envelope && envelope->sender && *envelope->sender)
		email = envelope->sender;
	action->priority = g_strdup(config->desk.priority);
	if (!email) {
		action->kind = ACTION_QUARANTINE;
		action->reason = g_strdup("no sender address: nobody to open a ticket for");
		return action;
	}
	action->kind = ACTION_OPEN;
	action->email = g_strdup(email);
	action->name = g_strdup(mail->from.name && *mail->from.name ? mail->from.name : email);
	if (config->desk.department_auto) {
		action->deptid = department_by_recipient(config, mail, envelope, &action->reason);
	} else {
		action->deptid = config->desk.department;
		action->reason = g_strdup_printf("department %d from [desk] department",
						 action->deptid);
	}
	return action;
}
