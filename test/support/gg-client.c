/*
 * A Gadu-Gadu client driven by the end-to-end tests: Debian's libgadu logs in to the server given on the
 * command line, then runs commands read from standard input (one per line) and prints what libgadu reports,
 * one line per event, on standard output.
 *
 *   gg-client HOST PORT UIN PASSWORD [PROTOCOL_VERSION]
 *
 * Commands: msg UIN TEXT | html UIN HTML | typing UIN LENGTH | status STATUS DESCRIPTION | file UIN PATH | quit
 * Output:   connected | failed | sent SEQ | msg SENDER CLASS TEXT | ack STATUS RECIPIENT SEQ | ack110 TYPE SEQ |
 *           typing UIN LENGTH | dcc7-reject REASON | dcc7-error | disconnect | offered | bye
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgadu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

static void print_text(const char *text) {
	for (const unsigned char *p = (const unsigned char *) text; p && *p; p++) {
		if (*p == '\n') fputs("\\n", stdout);
		else if (*p == '\\') fputs("\\\\", stdout);
		else putchar(*p);
	}
}

static int handle_event(struct gg_session *sess) {
	struct gg_event *e = gg_watch_fd(sess);
	if (e == NULL) {
		printf("disconnect\n");
		return -1;
	}
	int rc = 0;
	switch (e->type) {
	case GG_EVENT_MSG:
		printf("msg %u %d ", e->event.msg.sender, e->event.msg.msgclass);
		print_text((const char *) e->event.msg.message);
		printf("\n");
		break;
	case GG_EVENT_ACK:
		printf("ack %d %u %d\n", e->event.ack.status, e->event.ack.recipient, e->event.ack.seq);
		break;
	case GG_EVENT_ACK110:
		printf("ack110 %d %u\n", e->event.ack110.msg_type, e->event.ack110.seq);
		break;
	case GG_EVENT_TYPING_NOTIFICATION:
		printf("typing %u %d\n", e->event.typing_notification.uin, e->event.typing_notification.length);
		break;
	case GG_EVENT_DCC7_REJECT:
		printf("dcc7-reject %d\n", e->event.dcc7_reject.reason);
		break;
	case GG_EVENT_DCC7_ERROR:
		printf("dcc7-error\n");
		break;
	case GG_EVENT_DISCONNECT:
	case GG_EVENT_CONN_FAILED:
		printf("disconnect\n");
		rc = -1;
		break;
	default:
		break;
	}
	gg_free_event(e);
	return rc;
}

static int run_command(struct gg_session *sess, char *line) {
	char *cmd = strtok(line, " \n");
	if (cmd == NULL) return 0;
	if (strcmp(cmd, "quit") == 0) {
		/* As libgadu's documentation says to log off: not available (with a description), then close. */
		gg_change_status_descr(sess, GG_STATUS_NOT_AVAIL_DESCR, "do zobaczenia");
		gg_logoff(sess);
		printf("bye\n");
		return -1;
	}
	char *arg = strtok(NULL, " \n");
	char *rest = strtok(NULL, "\n");
	uin_t uin = arg ? (uin_t) strtoul(arg, NULL, 10) : 0;
	if (strcmp(cmd, "msg") == 0 && rest) {
		printf("sent %d\n", gg_send_message(sess, GG_CLASS_CHAT, uin, (const unsigned char *) rest));
	} else if (strcmp(cmd, "html") == 0 && rest) {
		printf("sent %d\n", gg_send_message_html(sess, GG_CLASS_CHAT, uin, (const unsigned char *) rest));
	} else if (strcmp(cmd, "typing") == 0 && rest) {
		printf("sent %d\n", gg_typing_notification(sess, uin, atoi(rest)));
	} else if (strcmp(cmd, "status") == 0) {
		printf("sent %d\n", gg_change_status_descr(sess, (int) uin, rest ? rest : ""));
	} else if (strcmp(cmd, "file") == 0 && rest) {
		struct gg_dcc7 *dcc = gg_dcc7_send_file(sess, uin, rest, NULL, NULL);
		printf(dcc ? "offered\n" : "dcc7-error\n");
	} else {
		printf("unknown %s\n", cmd);
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 5) {
		fprintf(stderr, "usage: %s HOST PORT UIN PASSWORD [PROTOCOL_VERSION]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("GG_CLIENT_DEBUG") != NULL) gg_debug_level = ~0;
	struct gg_login_params p;
	memset(&p, 0, sizeof(p));
	p.struct_size = sizeof(p);
	p.uin = (uin_t) strtoul(argv[3], NULL, 10);
	p.password = argv[4];
	p.async = 0;
	p.status = GG_STATUS_AVAIL;
	p.server_addr = inet_addr(argv[1]);
	p.server_port = (uint16_t) atoi(argv[2]);
	p.encoding = GG_ENCODING_UTF8;
	p.tls = GG_SSL_DISABLED;
	p.protocol_features = GG_FEATURE_DND_FFC | GG_FEATURE_TYPING_NOTIFICATION;
	if (argc > 5) p.protocol_version = (int) strtol(argv[5], NULL, 0);

	struct gg_session *sess = gg_login(&p);
	if (sess == NULL) {
		printf("failed\n");
		return 1;
	}
	printf("connected\n");
	gg_notify(sess, NULL, 0);

	char line[8192];
	for (;;) {
		fd_set rd, wr;
		FD_ZERO(&rd);
		FD_ZERO(&wr);
		FD_SET(0, &rd);
		if (sess->check & GG_CHECK_READ) FD_SET(sess->fd, &rd);
		if (sess->check & GG_CHECK_WRITE) FD_SET(sess->fd, &wr);
		if (select(sess->fd + 1, &rd, &wr, NULL, NULL) < 0) {
			if (errno == EINTR) continue;
			break;
		}
		if (FD_ISSET(sess->fd, &rd) || FD_ISSET(sess->fd, &wr)) {
			if (handle_event(sess) < 0) break;
		}
		if (FD_ISSET(0, &rd)) {
			if (fgets(line, sizeof(line), stdin) == NULL) break;
			if (run_command(sess, line) < 0) break;
		}
	}
	gg_free_session(sess);
	return 0;
}
