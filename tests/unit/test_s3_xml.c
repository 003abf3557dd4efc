/* test_s3_xml.c — the S3 XML layer: the AWS documentation's example bodies parse; malformed XML,
 * wrong roots, unknown elements, DTD and entity attacks are refused; the limits (1,000 keys,
 * 10,000 parts, 10/50 tags, key and tag lengths, body size) hold; bodies parse the same fed byte by
 * byte; keys with markup characters, quotes, Japanese and control characters survive write → parse;
 * EncodingType=url encodes as S3 does; every writer's output is well-formed and uses S3's names. */
#include "check.h"
#include "core/buf.h"
#include "core/util.h"
#include "storage/s3_xml.h"

#include <expat.h>
#include <stdlib.h>

/* ---- helpers ---- */

static enum ksm_err parse(enum ksm_s3_xml_kind kind, const char *xml, struct ksm_s3_body **out)
{
    char detail[KSM_S3_XML_DETAIL_MAX];
    enum ksm_err e = ksm_s3_xml_parse(kind, xml, strlen(xml), out, detail);
    if (e != KSM_E_OK && getenv("VERBOSE"))
        fprintf(stderr, "  refused (%s): %s\n", ksm_err_s3_code(e), detail);
    return e;
}

static enum ksm_err refuse(enum ksm_s3_xml_kind kind, const char *xml)
{
    struct ksm_s3_body *b = NULL;
    enum ksm_err e = parse(kind, xml, &b);
    CHECK(b == NULL || e == KSM_E_OK);
    ksm_s3_body_free(b);
    return e;
}

/* A test reader, independent of the parser under test: flattens a document into lines
 * "Path/To/Leaf=text\n" (plus "@xmlns=..." for the root) so tests can look for exact lines. */
struct flat {
    struct ksm_buf out, path, text;
    int depth;
};

static void XMLCALL flat_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct flat *f = ud;
    if (f->depth++ == 0)
        for (int i = 0; atts[i]; i += 2)
            ksm_buf_printf(&f->out, "@%s=%s\n", atts[i], atts[i + 1]);
    if (f->path.len)
        ksm_buf_putc(&f->path, '/');
    ksm_buf_puts(&f->path, name);
    ksm_buf_reset(&f->text);
    ksm_buf_puts(&f->text, "");
}

static void XMLCALL flat_end(void *ud, const XML_Char *name)
{
    struct flat *f = ud;
    if (f->text.data) { /* a leaf: no child element started since its text began */
        ksm_buf_printf(&f->out, "%s=", f->path.data);
        ksm_buf_append(&f->out, f->text.data, f->text.len);
        ksm_buf_putc(&f->out, '\n');
    }
    ksm_buf_free(&f->text);
    f->path.len -= strlen(name);
    if (f->path.len)
        f->path.len--;
    f->path.data[f->path.len] = 0;
    f->depth--;
}

static void XMLCALL flat_text(void *ud, const XML_Char *s, int len)
{
    struct flat *f = ud;
    if (f->text.data)
        ksm_buf_append(&f->text, s, (size_t)len);
}

/* Returns the flattened document (caller frees), or NULL if it is not well-formed. */
static char *flatten(const char *xml, size_t n)
{
    struct flat f = {KSM_BUF_INIT, KSM_BUF_INIT, KSM_BUF_INIT, 0};
    XML_Parser xp = XML_ParserCreate("UTF-8");
    bool ok;
    XML_SetUserData(xp, &f);
    XML_SetElementHandler(xp, flat_start, flat_end);
    XML_SetCharacterDataHandler(xp, flat_text);
    ok = XML_Parse(xp, xml, (int)n, XML_TRUE) == XML_STATUS_OK;
    if (!ok)
        fprintf(stderr, "not well-formed: %s\n%s\n", XML_ErrorString(XML_GetErrorCode(xp)), xml);
    XML_ParserFree(xp);
    ksm_buf_free(&f.path);
    ksm_buf_free(&f.text);
    if (!ok) {
        ksm_buf_free(&f.out);
        return NULL;
    }
    ksm_buf_puts(&f.out, "");
    return ksm_buf_steal(&f.out);
}

static bool has_line(const char *flat, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = flat; p && (p = strstr(p, line)); p++)
        if ((p == flat || p[-1] == '\n') && p[n] == '\n')
            return true;
    if (getenv("VERBOSE"))
        fprintf(stderr, "missing line %s in:\n%s", line, flat ? flat : "(null)\n");
    return false;
}

static const char DECL[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
static const char NS_LINE[] = "@xmlns=http://s3.amazonaws.com/doc/2006-03-01/";

/* ---- request bodies: the AWS examples ---- */

static void test_create_bucket(void)
{
    struct ksm_s3_body *b;
    /* the API reference's example, including its "</CreateBucketConfiguration >" */
    CHECK(parse(KSM_S3X_CREATE_BUCKET,
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"> \n"
                "  <LocationConstraint>Europe</LocationConstraint> \n"
                "</CreateBucketConfiguration >",
                &b) == KSM_E_OK);
    CHECK_STR(b->u.create_bucket.location, "Europe");
    ksm_s3_body_free(b);

    CHECK(parse(KSM_S3X_CREATE_BUCKET, "", &b) == KSM_E_OK);
    CHECK(b && b->u.create_bucket.location == NULL);
    ksm_s3_body_free(b);
    CHECK(parse(KSM_S3X_CREATE_BUCKET, " \r\n", &b) == KSM_E_OK);
    ksm_s3_body_free(b);
    CHECK(parse(KSM_S3X_CREATE_BUCKET, "<CreateBucketConfiguration/>", &b) == KSM_E_OK);
    CHECK(b && b->u.create_bucket.location == NULL);
    ksm_s3_body_free(b);
    /* the directory-bucket elements are known and ignored */
    CHECK(parse(KSM_S3X_CREATE_BUCKET,
                "<CreateBucketConfiguration><LocationConstraint>ap-northeast-1</LocationConstraint>"
                "<Location><Type>AvailabilityZone</Type><Name>x</Name></Location>"
                "<Bucket><DataRedundancy>SingleAvailabilityZone</DataRedundancy></Bucket>"
                "</CreateBucketConfiguration>",
                &b) == KSM_E_OK);
    CHECK_STR(b->u.create_bucket.location, "ap-northeast-1");
    ksm_s3_body_free(b);
    CHECK(refuse(KSM_S3X_CREATE_BUCKET,
                 "<CreateBucketConfiguration><LocationConstraint>a"
                 "</LocationConstraint><LocationConstraint>b"
                 "</LocationConstraint></CreateBucketConfiguration>") == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_CREATE_BUCKET, "<CreateBucketConfiguration><Tags/>"
                                        "</CreateBucketConfiguration>") == KSM_E_MALFORMED_XML);
}

static const char COMPLETE_EXAMPLE[] = "<CompleteMultipartUpload>\n"
                                       "  <Part>\n"
                                       "    <PartNumber>1</PartNumber>\n"
                                       "    <ETag>\"a54357aff0632cce46d942af68356b38\"</ETag>\n"
                                       "  </Part>\n"
                                       "  <Part>\n"
                                       "    <PartNumber>2</PartNumber>\n"
                                       "    <ETag>\"0c78aef83f66abc1fa1e8477f296d394\"</ETag>\n"
                                       "  </Part>\n"
                                       "  <Part>\n"
                                       "    <PartNumber>3</PartNumber>\n"
                                       "    <ETag>\"acbd18db4cc2f85cedef654fccc4a4d8\"</ETag>\n"
                                       "  </Part>\n"
                                       "</CompleteMultipartUpload>";

static void check_complete_example(const struct ksm_s3_body *b)
{
    CHECK(b->kind == KSM_S3X_COMPLETE_MPU);
    CHECK(b->u.complete.nparts == 3);
    if (b->u.complete.nparts != 3)
        return;
    CHECK(b->u.complete.parts[0].number == 1 && b->u.complete.parts[2].number == 3);
    CHECK_STR(b->u.complete.parts[0].etag, "a54357aff0632cce46d942af68356b38");
    CHECK_STR(b->u.complete.parts[1].etag, "0c78aef83f66abc1fa1e8477f296d394");
    CHECK_STR(b->u.complete.parts[2].etag, "acbd18db4cc2f85cedef654fccc4a4d8");
    CHECK(b->u.complete.parts[0].crc32 == NULL);
}

static void test_complete(void)
{
    struct ksm_s3_body *b;
    CHECK(parse(KSM_S3X_COMPLETE_MPU, COMPLETE_EXAMPLE, &b) == KSM_E_OK);
    check_complete_example(b);
    ksm_s3_body_free(b);

    /* what the SDKs send: namespace, &quot; quotes, checksums; a bare ETag too */
    CHECK(parse(KSM_S3X_COMPLETE_MPU,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                "<Part><ETag>&quot;e1&quot;</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32>"
                "<ChecksumCRC32C>BBBBBB==</ChecksumCRC32C><ChecksumSHA1>c2hhMQ==</ChecksumSHA1>"
                "<ChecksumSHA256>c2hhMjU2</ChecksumSHA256><ChecksumCRC64NVME>Y3JjNjQ=</"
                "ChecksumCRC64NVME>"
                "<PartNumber> 7 </PartNumber></Part>"
                "<Part><PartNumber>10000</PartNumber><ETag>e2</ETag></Part>"
                "</CompleteMultipartUpload>",
                &b) == KSM_E_OK);
    CHECK(b->u.complete.nparts == 2);
    CHECK(b->u.complete.parts[0].number == 7);
    CHECK_STR(b->u.complete.parts[0].etag, "e1");
    CHECK_STR(b->u.complete.parts[0].crc32, "AAAAAA==");
    CHECK_STR(b->u.complete.parts[0].crc32c, "BBBBBB==");
    CHECK_STR(b->u.complete.parts[0].sha1, "c2hhMQ==");
    CHECK_STR(b->u.complete.parts[0].sha256, "c2hhMjU2");
    CHECK_STR(b->u.complete.parts[0].crc64nvme, "Y3JjNjQ=");
    CHECK_STR(b->u.complete.parts[1].etag, "e2");
    CHECK(b->u.complete.parts[1].number == 10000);
    ksm_s3_body_free(b);

    /* a namespace prefix is a namespace like any other */
    CHECK(parse(KSM_S3X_COMPLETE_MPU,
                "<s3:CompleteMultipartUpload xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                "<s3:Part><s3:PartNumber>1</s3:PartNumber><s3:ETag>x</s3:ETag></s3:Part>"
                "</s3:CompleteMultipartUpload>",
                &b) == KSM_E_OK);
    ksm_s3_body_free(b);

#define PART(n, e) "<Part><PartNumber>" n "</PartNumber><ETag>" e "</ETag></Part>"
#define CMU(x) "<CompleteMultipartUpload>" x "</CompleteMultipartUpload>"
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU(PART("2", "a") PART("1", "b"))) ==
          KSM_E_INVALID_PART_ORDER);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU(PART("1", "a") PART("1", "b"))) ==
          KSM_E_INVALID_PART_ORDER);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU(PART("0", "a"))) == KSM_E_INVALID_ARGUMENT);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU(PART("10001", "a"))) == KSM_E_INVALID_ARGUMENT);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU(PART("-1", "a"))) == KSM_E_INVALID_ARGUMENT);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU(PART("99999999999999999999", "a"))) ==
          KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU(PART("one", "a"))) == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU("<Part><PartNumber>1</PartNumber></Part>")) ==
          KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU("<Part><ETag>x</ETag></Part>")) == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU("")) == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, "") == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU(PART("1", "a") "<Foo/>")) == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU("<Part><PartNumber>1</PartNumber><ETag>a</ETag>"
                                           "<ETag>b</ETag></Part>")) == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU("<Part>x<PartNumber>1</PartNumber><ETag>a</ETag>"
                                           "</Part>")) == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_COMPLETE_MPU, CMU("<Part><PartNumber>1<b/></PartNumber><ETag>a</ETag>"
                                           "</Part>")) == KSM_E_MALFORMED_XML);

    /* 10,000 parts is the most; a body that size fits the limit */
    struct ksm_buf x = KSM_BUF_INIT;
    ksm_buf_puts(&x, "<CompleteMultipartUpload>");
    for (int i = 1; i <= KSM_S3_MAX_PART_NUMBER; i++)
        ksm_buf_printf(
            &x,
            "<Part><PartNumber>%d</PartNumber><ETag>\"%032x\"</ETag>"
            "<ChecksumSHA256>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</ChecksumSHA256>"
            "</Part>\n",
            i, i);
    ksm_buf_puts(&x, "</CompleteMultipartUpload>");
    CHECK(parse(KSM_S3X_COMPLETE_MPU, x.data, &b) == KSM_E_OK);
    CHECK(b && b->u.complete.nparts == 10000 && b->u.complete.parts[9999].number == 10000);
    ksm_s3_body_free(b);
    ksm_buf_free(&x);
}

static void test_delete(void)
{
    struct ksm_s3_body *b;
    CHECK(parse(KSM_S3X_DELETE,
                "<Delete>\n  <Object>\n    <Key>sample1.txt</Key>\n  </Object>\n"
                "  <Object>\n    <Key>sample2.txt</Key>\n  </Object>\n</Delete>",
                &b) == KSM_E_OK);
    CHECK(b->u.del.nobjs == 2 && !b->u.del.quiet);
    CHECK_STR(b->u.del.objs[0].key, "sample1.txt");
    CHECK_STR(b->u.del.objs[1].key, "sample2.txt");
    CHECK(b->u.del.objs[0].version_id == NULL && b->u.del.objs[0].size == -1);
    ksm_s3_body_free(b);

    CHECK(
        parse(KSM_S3X_DELETE,
              "<Delete>\n  <Object>\n   <Key>SampleDocument.txt</Key>\n"
              "   <VersionId>OYcLXagmS.WaD..oyH4KRguB95_YhLs7</VersionId>\n  </Object>\n</Delete>",
              &b) == KSM_E_OK);
    CHECK_STR(b->u.del.objs[0].version_id, "OYcLXagmS.WaD..oyH4KRguB95_YhLs7");
    ksm_s3_body_free(b);

    /* boto3's shape, with the conditional-delete elements newer SDKs send */
    CHECK(parse(KSM_S3X_DELETE,
                "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Object><Key> a b </Key>"
                "<ETag>\"e\"</ETag><LastModifiedTime>2024-01-02T03:04:05.000Z</LastModifiedTime>"
                "<Size>42</Size></Object><Quiet>true</Quiet></Delete>",
                &b) == KSM_E_OK);
    CHECK_STR(b->u.del.objs[0].key, " a b "); /* keys are never trimmed */
    CHECK_STR(b->u.del.objs[0].etag, "e");
    CHECK_STR(b->u.del.objs[0].last_modified, "2024-01-02T03:04:05.000Z");
    CHECK(b->u.del.objs[0].size == 42 && b->u.del.quiet);
    ksm_s3_body_free(b);

    CHECK(refuse(KSM_S3X_DELETE, "<Delete><Quiet>true</Quiet></Delete>") == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_DELETE, "<Delete><Object><Key>a</Key></Object><Quiet>yes</Quiet>"
                                 "</Delete>") == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_DELETE, "<Delete><Object><VersionId>v</VersionId></Object></Delete>") ==
          KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_DELETE, "<Delete><Object><Key></Key></Object></Delete>") ==
          KSM_E_MALFORMED_XML);

    struct ksm_buf x = KSM_BUF_INIT;
    char key[KSM_S3_MAX_KEY_BYTES + 2];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = 0;
    ksm_buf_printf(&x, "<Delete><Object><Key>%s</Key></Object></Delete>", key);
    CHECK(refuse(KSM_S3X_DELETE, x.data) == KSM_E_KEY_TOO_LONG);
    ksm_buf_reset(&x);
    key[KSM_S3_MAX_KEY_BYTES] = 0;
    ksm_buf_printf(&x, "<Delete><Object><Key>%s</Key></Object></Delete>", key);
    CHECK(parse(KSM_S3X_DELETE, x.data, &b) == KSM_E_OK);
    ksm_s3_body_free(b);

    ksm_buf_reset(&x);
    ksm_buf_puts(&x, "<Delete>");
    for (int i = 0; i < KSM_S3_MAX_DELETE_OBJECTS; i++)
        ksm_buf_printf(&x, "<Object><Key>k%d</Key></Object>", i);
    ksm_buf_puts(&x, "</Delete>");
    CHECK(parse(KSM_S3X_DELETE, x.data, &b) == KSM_E_OK);
    CHECK(b && b->u.del.nobjs == 1000);
    CHECK_STR(b->u.del.objs[999].key, "k999");
    ksm_s3_body_free(b);
    x.len -= strlen("</Delete>");
    ksm_buf_puts(&x, "<Object><Key>one-too-many</Key></Object></Delete>");
    CHECK(refuse(KSM_S3X_DELETE, x.data) == KSM_E_MALFORMED_XML);
    ksm_buf_free(&x);
}

static void test_tagging(void)
{
    struct ksm_s3_body *b;
    CHECK(parse(KSM_S3X_BUCKET_TAGGING,
                "<Tagging>\n  <TagSet>\n    <Tag>\n      <Key>Project</Key>\n"
                "      <Value>Project One</Value>\n    </Tag>\n    <Tag>\n      <Key>User</Key>\n"
                "      <Value>jsmith</Value>\n    </Tag>\n  </TagSet>\n</Tagging>",
                &b) == KSM_E_OK);
    CHECK(b->u.tagging.ntags == 2);
    CHECK_STR(b->u.tagging.tags[0].key, "Project");
    CHECK_STR(b->u.tagging.tags[0].value, "Project One");
    CHECK_STR(b->u.tagging.tags[1].value, "jsmith");
    ksm_s3_body_free(b);
    CHECK(parse(KSM_S3X_OBJECT_TAGGING,
                "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>"
                "<Tag><Key>tag1</Key><Value>val1</Value></Tag>"
                "<Tag><Key>tag2</Key><Value></Value></Tag></TagSet></Tagging>",
                &b) == KSM_E_OK);
    CHECK(b->u.tagging.ntags == 2);
    CHECK_STR(b->u.tagging.tags[1].value, "");
    ksm_s3_body_free(b);
    CHECK(parse(KSM_S3X_OBJECT_TAGGING, "<Tagging><TagSet/></Tagging>", &b) == KSM_E_OK);
    CHECK(b && b->u.tagging.ntags == 0);
    ksm_s3_body_free(b);

    CHECK(refuse(KSM_S3X_OBJECT_TAGGING, "<Tagging/>") == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_OBJECT_TAGGING, "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag>"
                                         "<Tag><Key>a</Key><Value>2</Value></Tag></TagSet>"
                                         "</Tagging>") == KSM_E_INVALID_TAG);
    CHECK(refuse(KSM_S3X_OBJECT_TAGGING, "<Tagging><TagSet><Tag><Key>aws:x</Key><Value>1</Value>"
                                         "</Tag></TagSet></Tagging>") == KSM_E_INVALID_TAG);
    CHECK(refuse(KSM_S3X_OBJECT_TAGGING, "<Tagging><TagSet><Tag><Key></Key><Value>1</Value>"
                                         "</Tag></TagSet></Tagging>") == KSM_E_INVALID_TAG);
    CHECK(refuse(KSM_S3X_OBJECT_TAGGING, "<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet>"
                                         "</Tagging>") == KSM_E_MALFORMED_XML);

    /* counts: 10 per object, 50 per bucket */
    for (int kind = 0; kind < 2; kind++) {
        int max = kind ? KSM_S3_MAX_BUCKET_TAGS : KSM_S3_MAX_OBJECT_TAGS;
        enum ksm_s3_xml_kind k = kind ? KSM_S3X_BUCKET_TAGGING : KSM_S3X_OBJECT_TAGGING;
        struct ksm_buf x = KSM_BUF_INIT;
        ksm_buf_puts(&x, "<Tagging><TagSet>");
        for (int i = 0; i < max; i++)
            ksm_buf_printf(&x, "<Tag><Key>k%d</Key><Value>v</Value></Tag>", i);
        ksm_buf_puts(&x, "</TagSet></Tagging>");
        CHECK(parse(k, x.data, &b) == KSM_E_OK);
        CHECK(b && b->u.tagging.ntags == (size_t)max);
        ksm_s3_body_free(b);
        x.len -= strlen("</TagSet></Tagging>");
        ksm_buf_puts(&x, "<Tag><Key>more</Key><Value>v</Value></Tag></TagSet></Tagging>");
        CHECK(refuse(k, x.data) == KSM_E_INVALID_TAG);
        ksm_buf_free(&x);
    }

    /* lengths are in characters: 128 three-byte characters are a valid key, 129 are not */
    struct ksm_buf k = KSM_BUF_INIT, v = KSM_BUF_INIT, x = KSM_BUF_INIT;
    for (int i = 0; i < KSM_S3_MAX_TAG_KEY_CHARS; i++)
        ksm_buf_puts(&k, "霞");
    for (int i = 0; i < KSM_S3_MAX_TAG_VALUE_CHARS; i++)
        ksm_buf_puts(&v, "が");
    ksm_buf_printf(&x,
                   "<Tagging><TagSet><Tag><Key>%s</Key><Value>%s</Value></Tag></TagSet>"
                   "</Tagging>",
                   k.data, v.data);
    CHECK(parse(KSM_S3X_OBJECT_TAGGING, x.data, &b) == KSM_E_OK);
    CHECK(b && strlen(b->u.tagging.tags[0].key) == 3 * KSM_S3_MAX_TAG_KEY_CHARS);
    ksm_s3_body_free(b);
    ksm_buf_reset(&x);
    ksm_buf_printf(&x,
                   "<Tagging><TagSet><Tag><Key>%sx</Key><Value>v</Value></Tag></TagSet>"
                   "</Tagging>",
                   k.data);
    CHECK(refuse(KSM_S3X_OBJECT_TAGGING, x.data) == KSM_E_INVALID_TAG);
    ksm_buf_reset(&x);
    ksm_buf_printf(&x,
                   "<Tagging><TagSet><Tag><Key>k</Key><Value>%sx</Value></Tag></TagSet>"
                   "</Tagging>",
                   v.data);
    CHECK(refuse(KSM_S3X_OBJECT_TAGGING, x.data) == KSM_E_INVALID_TAG);
    ksm_buf_free(&k);
    ksm_buf_free(&v);
    ksm_buf_free(&x);
}

static void test_versioning_cors(void)
{
    struct ksm_s3_body *b;
    CHECK(parse(KSM_S3X_VERSIONING,
                "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
                "  <Status>Enabled</Status>\n</VersioningConfiguration>",
                &b) == KSM_E_OK);
    CHECK_STR(b->u.versioning.status, "Enabled");
    CHECK(b->u.versioning.mfa_delete == NULL);
    ksm_s3_body_free(b);
    CHECK(parse(KSM_S3X_VERSIONING,
                "<VersioningConfiguration><Status>Suspended</Status><MfaDelete>Disabled</MfaDelete>"
                "</VersioningConfiguration>",
                &b) == KSM_E_OK);
    CHECK_STR(b->u.versioning.status, "Suspended");
    CHECK_STR(b->u.versioning.mfa_delete, "Disabled");
    ksm_s3_body_free(b);
    CHECK(refuse(KSM_S3X_VERSIONING, "<VersioningConfiguration><Status>On</Status>"
                                     "</VersioningConfiguration>") == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_VERSIONING, "<VersioningConfiguration><Status>enabled</Status>"
                                     "</VersioningConfiguration>") == KSM_E_MALFORMED_XML);

    CHECK(
        parse(KSM_S3X_CORS,
              "<CORSConfiguration>\n <CORSRule>\n"
              "   <AllowedOrigin>http://www.example.com</AllowedOrigin>\n\n"
              "   <AllowedMethod>PUT</AllowedMethod>\n   <AllowedMethod>POST</AllowedMethod>\n"
              "   <AllowedMethod>DELETE</AllowedMethod>\n\n   <AllowedHeader>*</AllowedHeader>\n\n"
              "  <MaxAgeSeconds>3000</MaxAgeSeconds>\n"
              "  <ExposeHeader>x-amz-server-side-encryption</ExposeHeader>\n </CORSRule>\n"
              " <CORSRule>\n   <AllowedOrigin>*</AllowedOrigin>\n"
              "   <AllowedMethod>GET</AllowedMethod>\n   <AllowedHeader>*</AllowedHeader>\n"
              "   <MaxAgeSeconds>3000</MaxAgeSeconds>\n </CORSRule>\n</CORSConfiguration>",
              &b) == KSM_E_OK);
    CHECK(b->u.cors.nrules == 2);
    const struct ksm_s3_cors_rule *r = &b->u.cors.rules[0];
    CHECK(r->nmethods == 3 && r->norigins == 1 && r->nheaders == 1 && r->nexpose == 1);
    CHECK_STR(r->methods[2], "DELETE");
    CHECK(r->methods[3] == NULL); /* lists are NULL-terminated */
    CHECK_STR(r->origins[0], "http://www.example.com");
    CHECK(r->max_age == 3000 && b->u.cors.rules[1].max_age == 3000);
    CHECK(b->u.cors.rules[1].nexpose == 0 && b->u.cors.rules[1].expose == NULL);
    ksm_s3_body_free(b);
    CHECK(refuse(KSM_S3X_CORS, "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
                               "<AllowedMethod>PATCH</AllowedMethod></CORSRule>"
                               "</CORSConfiguration>") == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_CORS, "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>"
                               "</CORSRule></CORSConfiguration>") == KSM_E_MALFORMED_XML);
}

/* ---- refusals common to every kind ---- */

static void test_malformed_and_attacks(void)
{
    static const char *const bad[] = {
        "<Delete><Object><Key>a</Key></Object>",                   /* truncated */
        "<Delete><Object><Key>a</Object></Key></Delete>",          /* crossed */
        "<Delete><Object><Key>a</Key></Object></Delete><Delete/>", /* two roots */
        "<Deletes><Object><Key>a</Key></Object></Deletes>",        /* wrong root */
        "<Tagging><TagSet/></Tagging>",                            /* another kind's root */
        "not xml at all",
        "<Delete><Object><Key>a&foo;</Key></Object></Delete>", /* undefined entity */
        "<Delete><Object><Key>a&#1;</Key></Object></Delete>",  /* not an XML 1.0 char */
        "<Delete><Object><Key>a\x01</Key></Object></Delete>",
        "<Delete><Object><Key>\xff\xfe</Key></Object></Delete>", /* not UTF-8 */
        "<Delete><Object><Key>a</Key></Object>junk</Delete>",
        /* DTDs of every kind: billion laughs, external entities, parameter entities, none */
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
        "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
        "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
        "<Delete><Object><Key>&lol3;</Key></Object></Delete>",
        "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
        "<Delete><Object><Key>&xxe;</Key></Object></Delete>",
        "<!DOCTYPE d SYSTEM \"http://127.0.0.1:1/evil.dtd\"><Delete><Object><Key>a</Key></Object>"
        "</Delete>",
        "<!DOCTYPE d [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]><Delete><Object><Key>a"
        "</Key></Object></Delete>",
        "<!DOCTYPE Delete><Delete><Object><Key>a</Key></Object></Delete>",
    };
    for (size_t i = 0; i < KSM_NELEM(bad); i++) {
        enum ksm_err e = refuse(KSM_S3X_DELETE, bad[i]);
        CHECK(e == KSM_E_MALFORMED_XML);
        if (e != KSM_E_MALFORMED_XML)
            fprintf(stderr, "  case %zu accepted or wrong error\n", i);
    }
    /* the same attacks against the kind whose empty body is fine */
    CHECK(refuse(KSM_S3X_CREATE_BUCKET, bad[11]) == KSM_E_MALFORMED_XML);
    CHECK(refuse(KSM_S3X_CREATE_BUCKET, "<!DOCTYPE x>") == KSM_E_MALFORMED_XML);

    /* the detail says why, in words fit for <Message> */
    char detail[KSM_S3_XML_DETAIL_MAX];
    struct ksm_s3_body *b;
    CHECK(ksm_s3_xml_parse(KSM_S3X_DELETE, bad[12], strlen(bad[12]), &b, detail) ==
          KSM_E_MALFORMED_XML);
    CHECK(strstr(detail, "DTD") != NULL);
    CHECK(ksm_s3_xml_parse(KSM_S3X__COUNT, "", 0, &b, detail) == KSM_E_INTERNAL);

    /* a body past its kind's size limit */
    size_t max = ksm_s3_xml_max_body(KSM_S3X_OBJECT_TAGGING);
    char *big = malloc(max + 1);
    memset(big, ' ', max + 1);
    memcpy(big, "<Tagging>", 9);
    CHECK(ksm_s3_xml_parse(KSM_S3X_OBJECT_TAGGING, big, max + 1, &b, detail) ==
          KSM_E_XML_TOO_LARGE);
    CHECK(b == NULL);
    free(big);

    /* declared encodings: Latin-1 is converted to UTF-8; an encoding expat lacks is refused */
    CHECK(parse(KSM_S3X_DELETE,
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
                "<Delete><Object><Key>caf\xe9</Key></Object></Delete>",
                &b) == KSM_E_OK);
    CHECK(b && !strcmp(b->u.del.objs[0].key, "caf\xc3\xa9"));
    ksm_s3_body_free(b);
    CHECK(refuse(KSM_S3X_DELETE,
                 "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>"
                 "<Delete><Object><Key>a</Key></Object></Delete>") == KSM_E_MALFORMED_XML);

    /* the table's S3 codes */
    CHECK_STR(ksm_err_s3_code(KSM_E_MALFORMED_XML), "MalformedXML");
    CHECK_STR(ksm_err_s3_code(KSM_E_INVALID_PART_ORDER), "InvalidPartOrder");
    CHECK_STR(ksm_err_s3_code(KSM_E_INVALID_PART), "InvalidPart");
    CHECK_STR(ksm_err_s3_code(KSM_E_INVALID_TAG), "InvalidTag");
    CHECK(ksm_err_status(KSM_E_MALFORMED_XML) == 400);
}

static void test_streaming(void)
{
    /* byte by byte, then in 7-byte chunks that split multi-byte characters */
    struct ksm_s3_xml_parser *p = ksm_s3_xml_parser_new(KSM_S3X_COMPLETE_MPU);
    struct ksm_s3_body *b = NULL;
    for (size_t i = 0; COMPLETE_EXAMPLE[i]; i++)
        CHECK(ksm_s3_xml_parser_feed(p, COMPLETE_EXAMPLE + i, 1) == KSM_E_OK);
    CHECK(ksm_s3_xml_parser_finish(p, &b) == KSM_E_OK);
    CHECK(b != NULL);
    if (b)
        check_complete_example(b);
    ksm_s3_body_free(b);
    ksm_s3_xml_parser_free(p);

    const char *xml = "<Delete><Object><Key>霞が関/予算 2026年度.xlsx</Key></Object></Delete>";
    p = ksm_s3_xml_parser_new(KSM_S3X_DELETE);
    for (size_t i = 0, n = strlen(xml); i < n; i += 7)
        CHECK(ksm_s3_xml_parser_feed(p, xml + i, n - i < 7 ? n - i : 7) == KSM_E_OK);
    CHECK(ksm_s3_xml_parser_finish(p, &b) == KSM_E_OK);
    CHECK(b && b->u.del.nobjs == 1);
    if (b)
        CHECK_STR(b->u.del.objs[0].key, "霞が関/予算 2026年度.xlsx");
    ksm_s3_body_free(b);
    ksm_s3_xml_parser_free(p);

    /* an error sticks; freeing a parser that never finished frees its partial body */
    p = ksm_s3_xml_parser_new(KSM_S3X_DELETE);
    CHECK(ksm_s3_xml_parser_feed(p, "<Delete><Object><Key>a</Key></Object><Bad/>", 43) ==
          KSM_E_MALFORMED_XML);
    CHECK(ksm_s3_xml_parser_feed(p, "</Delete>", 9) == KSM_E_MALFORMED_XML);
    CHECK(strstr(ksm_s3_xml_parser_detail(p), "Bad") != NULL);
    CHECK(ksm_s3_xml_parser_finish(p, &b) == KSM_E_MALFORMED_XML && b == NULL);
    ksm_s3_xml_parser_free(p);
    p = ksm_s3_xml_parser_new(KSM_S3X_DELETE);
    CHECK(ksm_s3_xml_parser_feed(p, "<Delete><Object><Key>a</Key></Object>", 37) == KSM_E_OK);
    ksm_s3_xml_parser_free(p);
    CHECK(ksm_s3_xml_parser_new(KSM_S3X__COUNT) == NULL);
}

/* ---- writers ---- */

static const char *const tricky_keys[] = {
    "a&b",
    "<tag>",
    "say \"hi\"",
    "it's",
    "]]>",
    "霞が関/予算 2026年度.xlsx",
    " lead and trail ",
    "tab\there",
    "cr\rlf\nend",
    "plus+equals=percent%",
    "~tilde*star",
    "東京都/ファイル&<>'\".txt",
};

static void test_round_trip(void)
{
    /* write a Delete body with the writer, parse it with the parser under test */
    struct ksm_buf x = KSM_BUF_INIT;
    struct ksm_xw w;
    struct ksm_s3_body *b;
    ksm_xw_begin(&w, &x, "Delete", true);
    for (size_t i = 0; i < KSM_NELEM(tricky_keys); i++) {
        ksm_xw_open(&w, "Object");
        ksm_xw_str(&w, "Key", tricky_keys[i]);
        ksm_xw_close(&w);
    }
    CHECK(ksm_xw_end(&w) == 0);
    CHECK(parse(KSM_S3X_DELETE, x.data, &b) == KSM_E_OK);
    CHECK(b && b->u.del.nobjs == KSM_NELEM(tricky_keys));
    for (size_t i = 0; b && i < b->u.del.nobjs; i++)
        CHECK_STR(b->u.del.objs[i].key, tricky_keys[i]);
    ksm_s3_body_free(b);

    /* and through a response, read back by the independent test reader */
    struct ksm_s3_delete_entry e[KSM_NELEM(tricky_keys)];
    memset(e, 0, sizeof e);
    for (size_t i = 0; i < KSM_NELEM(tricky_keys); i++)
        e[i].key = tricky_keys[i];
    ksm_buf_reset(&x);
    CHECK(ksm_s3_write_delete_result(&x, e, KSM_NELEM(e), false) == 0);
    char *flat = flatten(x.data, x.len);
    CHECK(flat != NULL);
    for (size_t i = 0; i < KSM_NELEM(tricky_keys); i++) {
        char line[256];
        snprintf(line, sizeof line, "DeleteResult/Deleted/Key=%s", tricky_keys[i]);
        if (strchr(tricky_keys[i], '\n'))
            CHECK(flat && strstr(flat, line)); /* spans lines: look for the text only */
        else
            CHECK(has_line(flat, line));
    }
    CHECK(strstr(x.data, "cr&#13;lf&#10;end") != NULL);
    CHECK(strstr(x.data, "&quot;hi&quot;") && strstr(x.data, "it&apos;s"));
    CHECK(strstr(x.data, "]]&gt;") != NULL);
    free(flat);
    ksm_buf_free(&x);
}

static void test_control_chars(void)
{
    /* A key S3 could store but XML 1.0 cannot carry: replaced (and counted) in plain output,
     * exact under EncodingType=url. */
    static const char key[] = "bell\x07"
                              "nul-less\x1f"
                              "bad\xff"
                              "ok";
    struct ksm_s3_object_entry o = {.key = key, .mtime_ms = 0, .etag = "e", .size = 1};
    struct ksm_s3_list_objects l = {
        .version = 2, .bucket = "b", .max_keys = 1000, .objects = &o, .nobjects = 1};
    struct ksm_buf x = KSM_BUF_INIT;
    CHECK(ksm_s3_write_list_objects(&x, &l) == 3);
    char *flat = flatten(x.data, x.len);
    CHECK(has_line(flat, "ListBucketResult/Contents/Key=bell\xEF\xBF\xBDnul-less\xEF\xBF\xBD"
                         "bad\xEF\xBF\xBDok"));
    free(flat);
    ksm_buf_reset(&x);
    l.url = true;
    CHECK(ksm_s3_write_list_objects(&x, &l) == 0);
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, "ListBucketResult/Contents/Key=bell%07nul-less%1Fbad%FFok"));
    CHECK(has_line(flat, "ListBucketResult/EncodingType=url"));
    free(flat);
    ksm_buf_free(&x);
}

static void test_url_encoding(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"photos/2006/January/sample.jpg", "photos/2006/January/sample.jpg"},
        {"a b+c", "a+b%2Bc"},
        {"~tilde*star-_.", "%7Etilde*star-_."},
        {"&<>\"'=?#%", "%26%3C%3E%22%27%3D%3F%23%25"},
        {"霞", "%E9%9C%9E"},
        {"", ""},
    };
    for (size_t i = 0; i < KSM_NELEM(cases); i++) {
        struct ksm_buf b = KSM_BUF_INIT;
        ksm_s3_url_encode(&b, cases[i].in);
        CHECK_STR(b.data ? b.data : "", cases[i].out);
        ksm_buf_free(&b);
    }
}

static void test_error(void)
{
    struct ksm_buf x = KSM_BUF_INIT;
    const char *extra[] = {"Condition", "If-Match"};
    struct ksm_s3_error e = {.err = KSM_E_NOT_FOUND,
                             .key = "a&b.txt",
                             .bucket = "bk",
                             .resource = "/bk/a&b.txt",
                             .request_id = "4442587FB7D0A2F9",
                             .extra = extra,
                             .nextra = 1};
    ksm_s3_write_error(&x, &e);
    CHECK(!strncmp(x.data, DECL, strlen(DECL)));
    CHECK(strstr(x.data, "xmlns") == NULL); /* S3's errors carry no namespace */
    char *flat = flatten(x.data, x.len);
    CHECK(has_line(flat, "Error/Code=NoSuchKey"));
    CHECK(has_line(flat, "Error/Message=not found"));
    CHECK(has_line(flat, "Error/Key=a&b.txt"));
    CHECK(has_line(flat, "Error/BucketName=bk"));
    CHECK(has_line(flat, "Error/Resource=/bk/a&b.txt"));
    CHECK(has_line(flat, "Error/RequestId=4442587FB7D0A2F9"));
    CHECK(has_line(flat, "Error/Condition=If-Match"));
    free(flat);
    ksm_buf_reset(&x);
    struct ksm_s3_error e2 = {
        .err = KSM_E_MALFORMED_XML, .message = "line 1: <bad>", .request_id = "r"};
    ksm_s3_write_error(&x, &e2);
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, "Error/Code=MalformedXML"));
    CHECK(has_line(flat, "Error/Message=line 1: <bad>"));
    CHECK(strstr(flat, "Error/Key=") == NULL);
    free(flat);
    ksm_buf_free(&x);
}

static void test_list_buckets(void)
{
    struct ksm_buf x = KSM_BUF_INIT;
    struct ksm_s3_bucket_entry bk[] = {{"examplebucket", 1700000000123LL, "ap-northeast-1"},
                                       {"ex&<2", 0, NULL}};
    struct ksm_s3_list_buckets l = {{"tn_abc", "デジタル庁"}, bk, 2, NULL, NULL};
    ksm_s3_write_list_buckets(&x, &l);
    char *flat = flatten(x.data, x.len);
    CHECK(has_line(flat, NS_LINE));
    CHECK(has_line(flat, "ListAllMyBucketsResult/Owner/ID=tn_abc"));
    CHECK(has_line(flat, "ListAllMyBucketsResult/Owner/DisplayName=デジタル庁"));
    CHECK(has_line(flat, "ListAllMyBucketsResult/Buckets/Bucket/Name=examplebucket"));
    CHECK(has_line(flat,
                   "ListAllMyBucketsResult/Buckets/Bucket/CreationDate=2023-11-14T22:13:20.123Z"));
    CHECK(has_line(flat, "ListAllMyBucketsResult/Buckets/Bucket/BucketRegion=ap-northeast-1"));
    CHECK(has_line(flat, "ListAllMyBucketsResult/Buckets/Bucket/Name=ex&<2"));
    CHECK(has_line(flat,
                   "ListAllMyBucketsResult/Buckets/Bucket/CreationDate=1970-01-01T00:00:00.000Z"));
    free(flat);
    ksm_buf_free(&x);
}

static void test_list_objects(void)
{
    struct ksm_buf x = KSM_BUF_INIT;
    struct ksm_s3_owner own = {"tn_abc", "owner"};
    struct ksm_s3_object_entry o[] = {
        {"photos/a b.jpg", 1255369830000LL, "fba9dede5f27731c9771645a39863328", 434234, NULL, &own},
        {"photos/\"q\".txt", 0, "\"abc-2\"", 0, "STANDARD_IA", &own},
    };
    const char *cp[] = {"photos/2006/", "photos/東京 /"};
    struct ksm_s3_list_objects l = {.version = 2,
                                    .bucket = "bucket",
                                    .prefix = "photos/",
                                    .delimiter = "/",
                                    .max_keys = 1000,
                                    .truncated = true,
                                    .continuation_token =
                                        "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",
                                    .next_continuation_token = "next&tok",
                                    .start_after = "photos/0",
                                    .objects = o,
                                    .nobjects = 2,
                                    .prefixes = cp,
                                    .nprefixes = 2};
    ksm_s3_write_list_objects(&x, &l);
    char *flat = flatten(x.data, x.len);
    CHECK(has_line(flat, NS_LINE));
    CHECK(has_line(flat, "ListBucketResult/Name=bucket"));
    CHECK(has_line(flat, "ListBucketResult/Prefix=photos/"));
    CHECK(has_line(flat, "ListBucketResult/Delimiter=/"));
    CHECK(has_line(flat, "ListBucketResult/MaxKeys=1000"));
    CHECK(has_line(flat, "ListBucketResult/KeyCount=4"));
    CHECK(has_line(flat, "ListBucketResult/IsTruncated=true"));
    CHECK(has_line(
        flat, "ListBucketResult/ContinuationToken=1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="));
    CHECK(has_line(flat, "ListBucketResult/NextContinuationToken=next&tok"));
    CHECK(has_line(flat, "ListBucketResult/StartAfter=photos/0"));
    CHECK(has_line(flat, "ListBucketResult/Contents/Key=photos/a b.jpg"));
    CHECK(has_line(flat, "ListBucketResult/Contents/LastModified=2009-10-12T17:50:30.000Z"));
    CHECK(has_line(flat, "ListBucketResult/Contents/ETag=\"fba9dede5f27731c9771645a39863328\""));
    CHECK(has_line(flat, "ListBucketResult/Contents/ETag=\"abc-2\""));
    CHECK(has_line(flat, "ListBucketResult/Contents/Size=434234"));
    CHECK(has_line(flat, "ListBucketResult/Contents/StorageClass=STANDARD"));
    CHECK(has_line(flat, "ListBucketResult/Contents/StorageClass=STANDARD_IA"));
    CHECK(has_line(flat, "ListBucketResult/Contents/Key=photos/\"q\".txt"));
    CHECK(has_line(flat, "ListBucketResult/CommonPrefixes/Prefix=photos/東京 /"));
    CHECK(strstr(flat, "Owner") == NULL); /* v2 without fetch-owner */
    CHECK(strstr(flat, "EncodingType") == NULL);
    CHECK(strstr(flat, "Marker") == NULL);
    free(flat);

    /* fetch-owner; url encoding of Prefix, Delimiter, StartAfter, Key, CommonPrefixes only */
    ksm_buf_reset(&x);
    l.fetch_owner = true;
    l.url = true;
    l.delimiter = "&";
    ksm_s3_write_list_objects(&x, &l);
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, "ListBucketResult/Contents/Owner/ID=tn_abc"));
    CHECK(has_line(flat, "ListBucketResult/Contents/Owner/DisplayName=owner"));
    CHECK(has_line(flat, "ListBucketResult/EncodingType=url"));
    CHECK(has_line(flat, "ListBucketResult/Delimiter=%26"));
    CHECK(has_line(flat, "ListBucketResult/Contents/Key=photos/a+b.jpg"));
    CHECK(has_line(flat, "ListBucketResult/Contents/Key=photos/%22q%22.txt"));
    CHECK(has_line(flat, "ListBucketResult/CommonPrefixes/Prefix=photos/%E6%9D%B1%E4%BA%AC+/"));
    CHECK(has_line(flat, "ListBucketResult/NextContinuationToken=next&tok")); /* opaque */
    free(flat);

    /* v1: Marker always, NextMarker only with a delimiter, Owner always */
    ksm_buf_reset(&x);
    struct ksm_s3_list_objects v1 = {.version = 1,
                                     .bucket = "bucket",
                                     .max_keys = 2,
                                     .truncated = true,
                                     .marker = "m",
                                     .next_marker = "photos/b",
                                     .objects = o,
                                     .nobjects = 2};
    ksm_s3_write_list_objects(&x, &v1);
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, "ListBucketResult/Prefix="));
    CHECK(has_line(flat, "ListBucketResult/Marker=m"));
    CHECK(strstr(flat, "NextMarker") == NULL && strstr(flat, "KeyCount") == NULL);
    CHECK(has_line(flat, "ListBucketResult/Contents/Owner/ID=tn_abc"));
    free(flat);
    ksm_buf_reset(&x);
    v1.delimiter = "/";
    v1.url = true;
    ksm_s3_write_list_objects(&x, &v1);
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, "ListBucketResult/NextMarker=photos/b"));
    CHECK(has_line(flat, "ListBucketResult/Contents/Key=photos/a+b.jpg"));
    free(flat);
    ksm_buf_free(&x);
}

static void test_small_results(void)
{
    struct ksm_buf x = KSM_BUF_INIT;
    char *flat;

    ksm_s3_write_location(&x, "ap-northeast-1");
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, NS_LINE) && has_line(flat, "LocationConstraint=ap-northeast-1"));
    free(flat);
    ksm_buf_reset(&x);
    ksm_s3_write_location(&x, NULL);
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, "LocationConstraint="));
    free(flat);

    ksm_buf_reset(&x);
    ksm_s3_write_initiate_mpu(&x, "example-bucket", "example-object",
                              "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, NS_LINE));
    CHECK(has_line(flat, "InitiateMultipartUploadResult/Bucket=example-bucket"));
    CHECK(has_line(flat, "InitiateMultipartUploadResult/Key=example-object"));
    CHECK(has_line(flat, "InitiateMultipartUploadResult/UploadId="
                         "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"));
    free(flat);

    ksm_buf_reset(&x);
    ksm_s3_write_complete_mpu(&x, "http://Example-Bucket.s3.example.jp/Example-Object",
                              "Example-Bucket", "Example-Object",
                              "3858f62230ac3c915f300c664312c11f-9");
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, "CompleteMultipartUploadResult/Location="
                         "http://Example-Bucket.s3.example.jp/Example-Object"));
    CHECK(has_line(flat, "CompleteMultipartUploadResult/Bucket=Example-Bucket"));
    CHECK(has_line(flat, "CompleteMultipartUploadResult/Key=Example-Object"));
    CHECK(has_line(flat,
                   "CompleteMultipartUploadResult/ETag=\"3858f62230ac3c915f300c664312c11f-9\""));
    free(flat);

    ksm_buf_reset(&x);
    ksm_s3_write_copy_result(&x, false, 1234567890001LL, "9b2cf535f27731c974343645a3985328");
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, NS_LINE));
    CHECK(has_line(flat, "CopyObjectResult/LastModified=2009-02-13T23:31:30.001Z"));
    CHECK(has_line(flat, "CopyObjectResult/ETag=\"9b2cf535f27731c974343645a3985328\""));
    free(flat);
    ksm_buf_reset(&x);
    ksm_s3_write_copy_result(&x, true, 0, "e");
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, "CopyPartResult/ETag=\"e\""));
    free(flat);

    ksm_buf_reset(&x);
    struct ksm_s3_tag tags[] = {{"Project", "Project One"}, {"課", "デジタル&行政"}};
    ksm_s3_write_tagging(&x, tags, 2);
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, NS_LINE));
    CHECK(has_line(flat, "Tagging/TagSet/Tag/Key=Project"));
    CHECK(has_line(flat, "Tagging/TagSet/Tag/Value=Project One"));
    CHECK(has_line(flat, "Tagging/TagSet/Tag/Value=デジタル&行政"));
    free(flat);
    /* and it parses back as a PutObjectTagging body */
    struct ksm_s3_body *b;
    CHECK(parse(KSM_S3X_OBJECT_TAGGING, x.data, &b) == KSM_E_OK);
    CHECK(b && b->u.tagging.ntags == 2);
    if (b)
        CHECK_STR(b->u.tagging.tags[1].value, "デジタル&行政");
    ksm_s3_body_free(b);
    ksm_buf_reset(&x);
    ksm_s3_write_tagging(&x, NULL, 0);
    flat = flatten(x.data, x.len);
    CHECK(flat != NULL);
    free(flat);
    CHECK(strstr(x.data, "<TagSet></TagSet>") != NULL);

    ksm_buf_reset(&x);
    ksm_s3_write_versioning(&x, "Enabled", NULL);
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, NS_LINE) && has_line(flat, "VersioningConfiguration/Status=Enabled"));
    free(flat);
    CHECK(parse(KSM_S3X_VERSIONING, x.data, &b) == KSM_E_OK);
    ksm_s3_body_free(b);
    ksm_buf_reset(&x);
    ksm_s3_write_versioning(&x, NULL, NULL);
    flat = flatten(x.data, x.len);
    CHECK(flat && has_line(flat, NS_LINE));
    free(flat);

    ksm_buf_free(&x);
}

static void test_delete_result(void)
{
    struct ksm_buf x = KSM_BUF_INIT;
    struct ksm_s3_delete_entry e[] = {
        {.key = "sample1.txt"},
        {.key = "sample2.txt", .err = KSM_E_FORBIDDEN},
        {.key = "v.txt",
         .version_id = "v1",
         .delete_marker = true,
         .delete_marker_version_id = "dm1"},
    };
    ksm_s3_write_delete_result(&x, e, 3, false);
    char *flat = flatten(x.data, x.len);
    CHECK(has_line(flat, NS_LINE));
    CHECK(has_line(flat, "DeleteResult/Deleted/Key=sample1.txt"));
    CHECK(has_line(flat, "DeleteResult/Error/Key=sample2.txt"));
    CHECK(has_line(flat, "DeleteResult/Error/Code=AccessDenied"));
    CHECK(has_line(flat, "DeleteResult/Error/Message=permission denied"));
    CHECK(has_line(flat, "DeleteResult/Deleted/VersionId=v1"));
    CHECK(has_line(flat, "DeleteResult/Deleted/DeleteMarker=true"));
    CHECK(has_line(flat, "DeleteResult/Deleted/DeleteMarkerVersionId=dm1"));
    free(flat);
    ksm_buf_reset(&x);
    ksm_s3_write_delete_result(&x, e, 3, true); /* quiet: errors only */
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, "DeleteResult/Error/Key=sample2.txt"));
    CHECK(strstr(flat, "Deleted") == NULL);
    free(flat);
    ksm_buf_free(&x);
}

static void test_parts_and_uploads(void)
{
    struct ksm_buf x = KSM_BUF_INIT;
    struct ksm_s3_part_entry parts[] = {
        {2, 1288367106000LL, "7778aef83f66abc1fa1e8477f296d394", 10485760},
        {3, 1288367107000LL, "aaaa18db4cc2f85cedef654fccc4a4x8", 10485760}};
    struct ksm_s3_list_parts lp = {
        .bucket = "example-bucket",
        .key = "example-object",
        .upload_id = "XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA",
        .initiator =
            {"arn:aws:iam::111122223333:user/some-user-11116a31-17b5-4fb7-9df5-b288870f11xx",
             "umat-user-11116a31-17b5-4fb7-9df5-b288870f11xx"},
        .owner = {"75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", "someName"},
        .part_number_marker = 1,
        .next_part_number_marker = 3,
        .max_parts = 2,
        .truncated = true,
        .parts = parts,
        .nparts = 2};
    ksm_s3_write_list_parts(&x, &lp);
    char *flat = flatten(x.data, x.len);
    CHECK(has_line(flat, NS_LINE));
    CHECK(has_line(flat, "ListPartsResult/Bucket=example-bucket"));
    CHECK(has_line(
        flat,
        "ListPartsResult/UploadId=XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA"));
    CHECK(has_line(
        flat,
        "ListPartsResult/Initiator/DisplayName=umat-user-11116a31-17b5-4fb7-9df5-b288870f11xx"));
    CHECK(has_line(flat, "ListPartsResult/Owner/DisplayName=someName"));
    CHECK(has_line(flat, "ListPartsResult/StorageClass=STANDARD"));
    CHECK(has_line(flat, "ListPartsResult/PartNumberMarker=1"));
    CHECK(has_line(flat, "ListPartsResult/NextPartNumberMarker=3"));
    CHECK(has_line(flat, "ListPartsResult/MaxParts=2"));
    CHECK(has_line(flat, "ListPartsResult/IsTruncated=true"));
    CHECK(has_line(flat, "ListPartsResult/Part/PartNumber=2"));
    CHECK(has_line(flat, "ListPartsResult/Part/LastModified=2010-10-29T15:45:06.000Z"));
    CHECK(has_line(flat, "ListPartsResult/Part/ETag=\"7778aef83f66abc1fa1e8477f296d394\""));
    CHECK(has_line(flat, "ListPartsResult/Part/Size=10485760"));
    free(flat);

    ksm_buf_reset(&x);
    struct ksm_s3_upload_entry up[] = {
        {"my-divisor",
         "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw",
         {"i1", "InitiatorDisplayName"},
         {"o1", "OwnerDisplayName"},
         NULL,
         1288364850000LL},
        {"my movie.m2ts",
         "VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA",
         {"i1", NULL},
         {"o1", NULL},
         "STANDARD",
         1288364851000LL},
    };
    const char *cp[] = {"photos/"};
    struct ksm_s3_list_uploads lu = {.bucket = "bucket",
                                     .key_marker = "",
                                     .upload_id_marker = "",
                                     .next_key_marker = "my movie.m2ts",
                                     .next_upload_id_marker =
                                         "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ",
                                     .delimiter = "/",
                                     .url = true,
                                     .max_uploads = 3,
                                     .truncated = true,
                                     .uploads = up,
                                     .nuploads = 2,
                                     .prefixes = cp,
                                     .nprefixes = 1};
    ksm_s3_write_list_uploads(&x, &lu);
    flat = flatten(x.data, x.len);
    CHECK(has_line(flat, NS_LINE));
    CHECK(has_line(flat, "ListMultipartUploadsResult/Bucket=bucket"));
    CHECK(has_line(flat, "ListMultipartUploadsResult/KeyMarker="));
    CHECK(has_line(flat, "ListMultipartUploadsResult/UploadIdMarker="));
    CHECK(has_line(flat, "ListMultipartUploadsResult/NextKeyMarker=my+movie.m2ts"));
    CHECK(has_line(flat, "ListMultipartUploadsResult/"
                         "NextUploadIdMarker=YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ"));
    CHECK(has_line(flat, "ListMultipartUploadsResult/MaxUploads=3"));
    CHECK(has_line(flat, "ListMultipartUploadsResult/IsTruncated=true"));
    CHECK(has_line(flat, "ListMultipartUploadsResult/EncodingType=url"));
    CHECK(has_line(flat, "ListMultipartUploadsResult/Upload/Key=my-divisor"));
    CHECK(has_line(flat, "ListMultipartUploadsResult/Upload/Key=my+movie.m2ts"));
    CHECK(has_line(flat, "ListMultipartUploadsResult/Upload/Initiator/ID=i1"));
    CHECK(has_line(flat, "ListMultipartUploadsResult/Upload/Owner/DisplayName=OwnerDisplayName"));
    CHECK(has_line(flat, "ListMultipartUploadsResult/Upload/Initiated=2010-10-29T15:07:30.000Z"));
    CHECK(has_line(flat, "ListMultipartUploadsResult/CommonPrefixes/Prefix=photos/"));
    free(flat);
    ksm_buf_free(&x);
}

int main(void)
{
    test_create_bucket();
    test_complete();
    test_delete();
    test_tagging();
    test_versioning_cors();
    test_malformed_and_attacks();
    test_streaming();
    test_round_trip();
    test_control_chars();
    test_url_encoding();
    test_error();
    test_list_buckets();
    test_list_objects();
    test_small_results();
    test_delete_result();
    test_parts_and_uploads();
    return CHECK_DONE();
}
