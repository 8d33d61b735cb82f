/* test_fs_write.c - the write side on a real mount (DESIGN.md §3): every
 * writable kind, editors, bad input (exact errno from close, nothing
 * sent), scratch files, deletes, ro, ESTALE, 5xx during a commit.
 * Server state is checked through the API (emu_api), never via recfs. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "emu.h"
#include "mount.h"

#define WRITES "^(PUT|POST|PATCH|DELETE) /api/"

static struct emu emu;
static struct recfs_mount mnt;
static char cid[160], rid[160], urid[160], pol[160];

static int state_id(char *out, size_t n, const char *jq)
{
    return sh_out(out, n, 20, "curl -sf %s/state | jq -r '%s'",
                  emu.control_url, jq);
}

static int setup(void **state)
{
    const char *args[] = {"--seed", "demo", "--transcode-ms", "0", NULL};
    int rc;

    (void)state;
    if (!mount_supported())
        exit(77);
    rc = emu_start(&emu, args);
    if (rc == -2)
        exit(77);
    if (rc || state_id(rid, sizeof rid, ".recordings_by_media.audio[0]") ||
        sh_out(cid, sizeof cid, 20, "curl -sf %s/state | jq -r "
               "'.conversations | to_entries[] | select(.value | "
               "index(\"%s\")) | .key'", emu.control_url, rid) ||
        state_id(urid, sizeof urid, ".userrecordings[0]") ||
        state_id(pol, sizeof pol, ".policies[0]"))
        return -1;
    return mount_start(&mnt, &emu, "metadata_ttl=2");
}

static int teardown(void **state)
{
    int rc;

    (void)state;
    mount_stop(&mnt);
    rc = mount_log_clean(&mnt);
    mount_cleanup(&mnt);
    emu_stop(&emu);
    return rc;
}

/* Write data to rel with open flags; 0 or the errno of open/write/close
 * (close reports the commit). */
static int put_file(const char *rel, const char *data, size_t len, int flags)
{
    char p[700];
    size_t off = 0;
    int fd = open(mount_path(&mnt, rel, p, sizeof p), flags, 0644);

    if (fd < 0)
        return errno;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            return e;
        }
        off += (size_t)w;
    }
    return close(fd) ? errno : 0;
}

static int put_str(const char *rel, const char *data)
{
    return put_file(rel, data, strlen(data), O_WRONLY | O_TRUNC);
}

/* GET an API path; caller frees. */
static char *api_get(const char *path)
{
    char *body = NULL;

    assert_int_equal(emu_api(&emu, "GET", path, NULL, &body), 200);
    return body;
}

static char *get_urec(void)
{
    char path[300];

    snprintf(path, sizeof path, "/api/v2/userrecordings/%s", urid);
    return api_get(path);
}

static void test_recording_metadata_python(void **state)
{
    char rel[600], api[600], *body;

    (void)state;
    snprintf(rel, sizeof rel, "conversations/%s/%s/metadata.json", cid, rid);
    snprintf(api, sizeof api,
             "/api/v2/conversations/%s/recordingmetadata/%s", cid, rid);
    emu_reset(&emu);
    assert_int_equal(sh(30, "python3 - %s/%s <<'EOF'\nimport json,sys\n"
                         "p=sys.argv[1]\nd=json.load(open(p))\n"
                         "d['archiveDate']='2031-01-02T03:04:05.000Z'\n"
                         "f=open(p,'w'); f.write(json.dumps(d,indent=2)); "
                         "f.close()\nEOF", mnt.mnt, rel), 0);
    body = api_get(api);
    assert_non_null(strstr(body, "2031-01-02T03:04:05"));
    free(body);
    assert_int_equal(emu_count(&emu, WRITES), 1);
    /* the file shows the server's answer */
    assert_int_equal(sh(10, "grep -q 2031-01-02 %s/%s", mnt.mnt, rel), 0);
}

static void test_bad_input(void **state)
{
    char rel[600], before[700], big[1100 * 1024];
    const char *bad[] = {"{\"id\": ", "[1,2]\n", "\xff\xfe{}\n",
                         "{\"id\":\"other\"}\n"};

    (void)state;
    snprintf(rel, sizeof rel, "userrecordings/%s/metadata.json", urid);
    snprintf(before, sizeof before, "%s/before.json", mnt.dir);
    assert_int_equal(sh(10, "cp %s/%s %s", mnt.mnt, rel, before), 0);
    emu_reset(&emu);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(put_str(rel, bad[i]), EINVAL);
    /* a read-only field changed, a wrong type */
    assert_int_equal(sh(10, "cd %s && jq '.durationMilliseconds = 1' %s > "
                         "%s/ro.json && jq '.name = 5' %s > %s/type.json",
                         mnt.mnt, rel, mnt.dir, rel, mnt.dir), 0);
    assert_int_equal(sh(10, "python3 -c 'import sys; f=open(sys.argv[1],"
                         "\"w\"); f.write(open(sys.argv[2]).read()); "
                         "f.close()' %s/%s %s/type.json 2>&1 | grep -q "
                         "'Invalid argument'", mnt.mnt, rel, mnt.dir), 0);
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[sizeof big - 2] = '}';
    big[sizeof big - 1] = '\n';
    assert_int_equal(put_file(rel, big, sizeof big, O_WRONLY | O_TRUNC),
                     EFBIG);
    assert_int_equal(emu_count(&emu, WRITES), 0);
    assert_int_equal(sh(10, "cmp %s/%s %s && getfattr -n user.recfs.error "
                         "%s/%s | grep -q .", mnt.mnt, rel, before, mnt.mnt,
                         rel), 0);
}

static void test_editors(void **state)
{
    char rel[600], *body;

    (void)state;
    snprintf(rel, sizeof rel, "userrecordings/%s/metadata.json", urid);
    assert_int_equal(sh(20, "cd %s && sed -i 's/^  \"name\": \".*\"/  \"name\": "
                         "\"by sed\"/' %s", mnt.mnt, rel), 0);
    body = get_urec();
    assert_non_null(strstr(body, "by sed"));
    free(body);
    assert_int_equal(sh(20, "cd %s && jq '.name = \"by jq\"' %s > "
                         "$(dirname %s)/tmp && mv $(dirname %s)/tmp %s",
                         mnt.mnt, rel, rel, rel, rel), 0);
    body = get_urec();
    assert_non_null(strstr(body, "by jq"));
    free(body);
    assert_int_equal(sh(20, "cd %s && vim -es -c '%%s/by jq/by vim/' -c wq "
                         "%s && vim -es -c 'set backupcopy=no' -c "
                         "'%%s/by vim/by vim2/' -c wq %s", mnt.mnt, rel, rel),
                     0);
    body = get_urec();
    assert_non_null(strstr(body, "by vim2"));
    free(body);
    assert_int_equal(sh(20, "cd %s && jq '.name = \"by cp\"' %s > "
                         "%s/new.json && cp %s/new.json %s", mnt.mnt, rel,
                         mnt.dir, mnt.dir, rel), 0);
    body = get_urec();
    assert_non_null(strstr(body, "by cp"));
    free(body);
    /* appending garbage fails at close and changes nothing */
    assert_int_not_equal(sh(20, "cd %s && python3 -c 'f=open(\"%s\",\"a\");"
                             " f.write(\"junk\"); f.close()'", mnt.mnt, rel),
                         0);
    /* no scratch file left behind */
    assert_int_equal(sh(10, "[ $(ls -A %s/userrecordings/%s | wc -l) = 2 ]",
                         mnt.mnt, urid), 0);
}

static void test_scratch_files(void **state)
{
    (void)state;
    emu_reset(&emu);
    assert_int_equal(sh(20, "cd %s/policies && echo hi > .x.swp && chmod "
                         "600 .x.swp && touch .x.swp && sync .x.swp && mv "
                         ".x.swp x~ && [ \"$(cat x~)\" = hi ] && "
                         "truncate -s 1 x~ && [ $(stat -c %%s x~) = 1 ] && "
                         "ls | grep -qx 'x~' && rm x~ && ! ls | grep -q x~",
                         mnt.mnt), 0);
    assert_int_equal(emu_count(&emu, WRITES), 0);
}

static void test_create_and_delete(void **state)
{
    char rel[600], out[256];

    (void)state;
    snprintf(rel, sizeof rel, "conversations/%s/%s/annotations", cid, rid);
    emu_reset(&emu);
    assert_int_equal(sh(20, "cd %s/%s && printf '{\"name\":\"n1\","
                         "\"description\":\"d\",\"location\":100,"
                         "\"durationMs\":10}\\n' > new.json && ! test -e "
                         "new.json", mnt.mnt, rel), 0);
    assert_int_equal(emu_count(&emu, "^POST /api/"), 1);
    assert_int_equal(sh_out(out, sizeof out, 20, "cd %s/%s && grep -l "
                            "'\"n1\"' *.json", mnt.mnt, rel), 0);
    /* rm without allow_delete: EPERM, nothing sent */
    assert_int_not_equal(sh(10, "rm -f %s/%s/%s", mnt.mnt, rel, out), 0);
    assert_int_equal(sh(10, "rm %s/policies/%s.json 2>&1 | grep -q "
                         "'not permitted'", mnt.mnt, pol), 0);
    assert_int_equal(emu_count(&emu, "^DELETE "), 0);
    /* a new key: touch keys/x -> POST recordingkeys */
    assert_int_equal(sh(10, "touch %s/keys/newkey", mnt.mnt), 0);
    assert_int_equal(emu_count(&emu, "^POST /api/v2/recording/recordingkeys"),
                     1);
    /* screen session stopped by PATCH */
    assert_int_equal(sh(20, "cd %s/screensessions && s=$(ls | head -1) && "
                         "echo '{\"state\":\"STOPPED\"}' > $s", mnt.mnt), 0);
    assert_int_equal(emu_count(&emu, "^PATCH /api/v2/recordings/"), 1);
}

static void test_orphan_localkey_policy(void **state)
{
    const char *pol_doc = "{\"name\":\"fs test\",\"enabled\":true}\n";
    char oid[160], lk[160], name[200], *body = NULL;

    (void)state;
    assert_int_equal(state_id(oid, sizeof oid, ".orphans[1]"), 0);
    assert_int_equal(state_id(lk, sizeof lk, ".localkeys[0]"), 0);
    emu_reset(&emu);
    /* an OrphanUpdateRequest turns the orphan into a recording */
    assert_int_equal(sh(20, "cd %s && printf '{\"conversationId\":\"%s\","
                         "\"archiveDate\":\"2031-01-01T00:00:00.000Z\"}' > "
                         "orphanrecordings/%s/metadata.json && sleep 1.2 && ! test -e "
                         "orphanrecordings/%s", mnt.mnt, cid, oid, oid), 0);
    assert_int_equal(emu_count(&emu, "^PUT /api/v2/orphanrecordings/"), 1);
    snprintf(name, sizeof name, "/api/v2/orphanrecordings/%s", oid);
    assert_int_equal(emu_api(&emu, "GET", name, NULL, &body), 404);
    free(body);
    /* a LocalEncryptionKeyRequest in localkeys/requests/ = a new key */
    assert_int_equal(sh(20, "cd %s && n=$(ls keys | wc -l) && printf "
                         "'{\"configId\":\"%s\",\"publicKey\":\"MIIB\","
                         "\"keypairId\":\"kp-test\"}' > "
                         "localkeys/requests/r.json && [ $(ls keys | wc -l) "
                         "-gt $n ]", mnt.mnt, lk), 0);
    assert_int_equal(emu_count(&emu, "^POST /api/v2/recording/localkeys$"),
                     1);
    /* a new policy; the same name again is EEXIST */
    assert_int_equal(put_file("policies/p1.json", pol_doc, strlen(pol_doc),
                              O_WRONLY | O_CREAT | O_TRUNC), 0);
    assert_int_equal(put_file("policies/p2.json", pol_doc, strlen(pol_doc),
                              O_WRONLY | O_CREAT | O_TRUNC), EEXIST);
    assert_int_equal(sh(10, "cd %s/policies && grep -l '\"fs test\"' "
                         "*-*.json", mnt.mnt), 0);
}

static void test_estale_and_5xx(void **state)
{
    char rel[600], body[700];

    (void)state;
    snprintf(rel, sizeof rel, "userrecordings/%s/metadata.json", urid);
    snprintf(body, sizeof body, "{\"kind\":\"userrecording\",\"id\":\"%s\","
             "\"set\":{\"name\":\"changed on the server\"}}", urid);
    /* open (base read), the server changes, then write + close */
    assert_int_equal(sh(30, "cd %s && python3 - <<'EOF'\nimport json,os,"
                         "subprocess,errno\nf=open('%s','r+')\n"
                         "d=json.load(f)\nsubprocess.run(['curl','-sf','-XPOST',"
                         "'-d',r'''%s''','%s/mutate'],check=True,"
                         "stdout=subprocess.DEVNULL)\nd['name']='mine'\n"
                         "f.seek(0); f.truncate(); f.write(json.dumps(d))\n"
                         "try:\n    f.close()\nexcept OSError as e:\n"
                         "    raise SystemExit(0 if e.errno == errno.ESTALE "
                         "else 2)\nraise SystemExit(1)\nEOF", mnt.mnt, rel,
                         body, emu.control_url), 0);
    sleep(3); /* metadata_ttl=2: see the server's copy */
    /* 5xx on every attempt: EIO; then the same edit succeeds */
    assert_int_equal(emu_fault(&emu, "{\"match\":\"PUT /api/v2/userrec\","
                               "\"count\":20,\"status\":503}"), 0);
    assert_int_equal(sh(60, "cd %s && jq '.name = \"after 5xx\"' %s > "
                         "%s/n.json && ! cp %s/n.json %s", mnt.mnt, rel,
                         mnt.dir, mnt.dir, rel), 0);
    assert_int_equal(sh(10, "curl -sf -XDELETE %s/faults", emu.control_url),
                     0);
    assert_int_equal(sh(60, "cd %s && cp %s/n.json %s", mnt.mnt, mnt.dir,
                         rel), 0);
}

static void test_allow_delete_and_ro(void **state)
{
    char oid[160];

    (void)state;
    assert_int_equal(state_id(oid, sizeof oid, ".orphans[0]"), 0);
    mount_stop(&mnt);
    assert_int_equal(mount_start(&mnt, &emu, "allow_delete"), 0);
    emu_reset(&emu);
    assert_int_equal(sh(20, "rm %s/policies/%s.json && rm -r "
                         "%s/orphanrecordings/%s", mnt.mnt, pol, mnt.mnt,
                         oid), 0);
    assert_int_equal(emu_count(&emu, "^DELETE "), 2);
    mount_stop(&mnt);
    assert_int_equal(mount_start(&mnt, &emu, "ro"), 0);
    emu_reset(&emu);
    assert_int_equal(put_str("settings.json", "{}\n"), EROFS);
    assert_int_equal(sh(10, "touch %s/policies/x.json 2>&1 | grep -q "
                         "Read-only", mnt.mnt), 0);
    assert_int_equal(emu_count(&emu, WRITES), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recording_metadata_python),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_editors),
        cmocka_unit_test(test_scratch_files),
        cmocka_unit_test(test_create_and_delete),
        cmocka_unit_test(test_orphan_localkey_policy),
        cmocka_unit_test(test_estale_and_5xx),
        cmocka_unit_test(test_allow_delete_and_ro),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
