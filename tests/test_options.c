/* test_options.c — the command line and --config FILE: values from the file
 * go through the command line's parser, the command line wins, -c and -P on
 * the command line replace the file's lists, and a bad line is an error.
 * (The error messages, FILE:LINE included, are checked by tests/config_file.sh.) */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "unit.h"

static char conf_path[64];

static const char *write_conf(const char *text)
{
    snprintf(conf_path, sizeof conf_path, "/tmp/nfprobe-options.XXXXXX");
    int fd = mkstemp(conf_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return conf_path;
}

/* options_parse on a NULL-terminated argument list (getopt may permute it). */
static int parse(struct options *o, const char *const *args)
{
    static char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"nfprobe";
    while (*args)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    int rc = options_parse(argc, argv, o);
    unlink(conf_path);
    return rc;
}

START_TEST(file_values_go_through_the_option_parser)
{
    const char *conf = write_conf(
        "# nfprobe on eth0\n"
        "\n"
        "collector = tcp://10.0.0.1:4739\n"
        "  collector=udp://[2001:db8::1]:2055  \n"
        "idle-timeout = 60\n"
        "active-timeout\t=\t0.5\r\n"
        "quiet\n"
        "biflow = yes\n"
        "no-dissect = no\n"
        "filter = tcp port 80 or udp\n"
        "export-version = 10\n"
        "user = nobody\n"
        "interface = eth0");            /* no newline at the end */
    struct options o;
    ck_assert_int_eq(parse(&o, (const char *[]){"--config", conf, NULL}), 0);
    ck_assert_int_eq(o.ncollectors, 2);
    ck_assert_str_eq(o.collectors[0], "tcp://10.0.0.1:4739");
    ck_assert_str_eq(o.collectors[1], "udp://[2001:db8::1]:2055");
    ck_assert_uint_eq(o.idle_us, 60000000u);
    ck_assert_uint_eq(o.active_us, 500000u);
    ck_assert(o.quiet);
    ck_assert(o.biflow);
    ck_assert(o.dissect);
    ck_assert_str_eq(o.bpf, "tcp port 80 or udp");
    ck_assert_int_eq(o.export_version, 10);
    ck_assert_str_eq(o.user, "nobody");
    ck_assert_str_eq(o.interface, "eth0");
    ck_assert(!o.json);
}
END_TEST

START_TEST(command_line_overrides_the_file)
{
    const char *conf = write_conf("idle-timeout = 60\nmax-flows = 1000\nplugin = splt\n"
                                  "collector = tcp://10.0.0.1\ncollector = tcp://10.0.0.2\n");
    struct options o;
    /* --config is read first wherever it stands. */
    ck_assert_int_eq(parse(&o, (const char *[]){"--idle-timeout", "5", "-i", "eth1", "-c", "127.0.0.1:9",
                                                "--config", conf, NULL}), 0);
    ck_assert_uint_eq(o.idle_us, 5000000u);
    ck_assert_uint_eq(o.max_flows, 1000u);
    ck_assert_str_eq(o.interface, "eth1");
    ck_assert_int_eq(o.ncollectors, 1);     /* replaced, not added to */
    ck_assert_str_eq(o.collectors[0], "127.0.0.1:9");
    ck_assert_int_eq(o.nplugins, 1);        /* not given on the command line: the file's */
    ck_assert_str_eq(o.plugins[0], "splt");
}
END_TEST

START_TEST(command_line_plugins_replace_the_files)
{
    const char *conf = write_conf("plugin = splt\nplugin = flowstats\ninterface = eth0\n");
    struct options o;
    ck_assert_int_eq(parse(&o, (const char *[]){"--config", conf, "-P", "early-classify", "-P", "splt:8", NULL}), 0);
    ck_assert_int_eq(o.nplugins, 2);
    ck_assert_str_eq(o.plugins[0], "early-classify");
    ck_assert_str_eq(o.plugins[1], "splt:8");
}
END_TEST

START_TEST(the_last_config_counts)
{
    const char *first = write_conf("interface = eth0\n");
    char keep[64];
    snprintf(keep, sizeof keep, "%s", first);
    const char *second = write_conf("interface = eth9\n");
    struct options o;
    ck_assert_int_eq(parse(&o, (const char *[]){"--config", keep, "--config", second, NULL}), 0);
    unlink(keep);
    ck_assert_str_eq(o.interface, "eth9");
}
END_TEST

/* Each of these lines alone (after "interface = eth0") is an error. */
static const char *const bad_lines[] = {
    "colector = tcp://10.0.0.1\n",      /* unknown key */
    "idle-timeout = abc\n",             /* the parser's own check */
    "idle-timeout\n",                   /* a value is needed */
    "idle-timeout =\n",
    "quiet = maybe\n",                  /* a flag is yes or no */
    "config = /etc/other.conf\n",       /* not in a file */
    "help\n",
    "version\n",
    "-q\n",                             /* names, not command-line spellings */
    "--quiet\n",
    "i = eth1\n",
    "export-version = 7\n",
    "plugin-pen = 29305\n",
};

START_TEST(a_bad_line_is_an_error)
{
    char text[256];
    snprintf(text, sizeof text, "interface = eth0\n%s", bad_lines[_i]);
    const char *conf = write_conf(text);
    struct options o;
    ck_assert_int_eq(parse(&o, (const char *[]){"--config", conf, NULL}), -1);
}
END_TEST

START_TEST(an_unreadable_file_is_an_error)
{
    struct options o;
    ck_assert_int_eq(parse(&o, (const char *[]){"--config", "/nonexistent/nfprobe.conf", "-i", "eth0", NULL}), -1);
    ck_assert_int_eq(parse(&o, (const char *[]){"--config", "/", "-i", "eth0", NULL}), -1);
    const char nul[] = "interface = eth0\n\0quiet\n";
    snprintf(conf_path, sizeof conf_path, "/tmp/nfprobe-options.XXXXXX");
    int fd = mkstemp(conf_path);
    ck_assert_int_eq(write(fd, nul, sizeof nul - 1), (ssize_t)sizeof nul - 1);
    close(fd);
    ck_assert_int_eq(parse(&o, (const char *[]){"--config", conf_path, NULL}), -1);
}
END_TEST

START_TEST(without_config_the_command_line_alone)
{
    struct options o;
    ck_assert_int_eq(parse(&o, (const char *[]){"-i", "eth0", "-u", "nfprobe", "--export-version", "9", NULL}), 0);
    ck_assert_str_eq(o.user, "nfprobe");
    ck_assert_int_eq(o.export_version, 9);
    ck_assert_int_eq(o.ncollectors, 0);
    ck_assert(o.json);
    /* and again, in the same process: the parser starts afresh */
    ck_assert_int_eq(parse(&o, (const char *[]){"-r", "x.pcap", NULL}), 0);
    ck_assert_ptr_null(o.user);
    ck_assert_str_eq(o.read_file, "x.pcap");
}
END_TEST

Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("config");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, file_values_go_through_the_option_parser);
    tcase_add_test(tc, command_line_overrides_the_file);
    tcase_add_test(tc, command_line_plugins_replace_the_files);
    tcase_add_test(tc, the_last_config_counts);
    tcase_add_loop_test(tc, a_bad_line_is_an_error, 0, (int)(sizeof bad_lines / sizeof bad_lines[0]));
    tcase_add_test(tc, an_unreadable_file_is_an_error);
    tcase_add_test(tc, without_config_the_command_line_alone);
    suite_add_tcase(s, tc);
    return s;
}
