#!/usr/bin/env python3
"""APIv2 golden vectors, made without our code: Python's hashlib/hmac for the signs, the OpenSSL
CLI for AES-256-ECB. Writes tests/fixtures/v2/vectors.json. TEST-ONLY keys."""
import base64, hashlib, hmac, json, os, subprocess

KEY = "a7b3c9d1e5f60718293a4b5c6d7e8f90"          # a TEST-ONLY APIv2 key
OFFICIAL_KEY = "192006250b4c09247ec02edce69f6a2d"  # the key of WeChat Pay's own documentation example

def string_to_sign(fields):
    return "&".join(f"{k}={v}" for k, v in sorted(fields.items(), key=lambda kv: kv[0].encode()) if k != "sign" and v != "")

def md5_sign(fields, key):
    return hashlib.md5((string_to_sign(fields) + "&key=" + key).encode()).hexdigest().upper()

def hmac_sign(fields, key):
    return hmac.new(key.encode(), (string_to_sign(fields) + "&key=" + key).encode(), hashlib.sha256).hexdigest().upper()

def xml(fields, cdata_all=False):
    out = ["<xml>"]
    for k, v in fields.items():
        if cdata_all or any(c in v for c in "<>&'\""):
            out.append(f"<{k}><![CDATA[{v}]]></{k}>")
        else:
            out.append(f"<{k}>{v}</{k}>")
    out.append("</xml>")
    return "".join(out)

sign_cases = [
    ("official documentation example", OFFICIAL_KEY, {"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000", "body": "test", "nonce_str": "ibuaiVcKdpRxkhJA"}),
    ("chinese text, raw (no URL encoding)", KEY, {"appid": "wx2421b1c4370ec43b", "mch_id": "1900000109", "body": "腾讯充值中心-QQ会员充值", "nonce_str": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", "total_fee": "1", "out_trade_no": "1415659990"}),
    ("empty values and sign are left out", KEY, {"appid": "wx2421b1c4370ec43b", "attach": "", "mch_id": "1900000109", "nonce_str": "abc", "sign": "WHATEVER", "device_info": ""}),
    ("byte order: upper case and underscores", KEY, {"b": "2", "B": "1", "a_b": "3", "a": "4", "aB": "5", "a1": "6"}),
    ("values that need CDATA", KEY, {"appid": "wx2421b1c4370ec43b", "detail": "{\"goods_detail\":[{\"goods_name\":\"<iPhone> & 'case'\"}]}", "nonce_str": "n", "mch_id": "1900000109"}),
    ("white space is part of a value", KEY, {"attach": " a b ", "mch_id": "1900000109", "nonce_str": "x y"}),
]
signs = []
for name, key, fields in sign_cases:
    signs.append({"name": name, "key": key, "fields": fields, "string_to_sign": string_to_sign(fields),
                  "md5": md5_sign(fields, key), "hmac_sha256": hmac_sign(fields, key),
                  "xml": xml(fields), "xml_all_cdata": xml(fields, cdata_all=True)})

def answer(fields, key, how):
    f = dict(fields)
    if how == "md5": f["sign"] = md5_sign(f, key)
    elif how == "hmac": f["sign_type"] = "HMAC-SHA256"; f["sign"] = hmac_sign(f, key)
    elif how == "wrong": f["sign"] = md5_sign(f, key)[:-1] + ("0" if md5_sign(f, key)[-1] != "0" else "1")
    elif how == "lowercase": f["sign"] = md5_sign(f, key).lower()
    return f

ok = {"return_code": "SUCCESS", "return_msg": "OK", "appid": "wx2421b1c4370ec43b", "mch_id": "1900000109", "nonce_str": "IITRi8Iabbblz1Jc", "result_code": "SUCCESS", "prepay_id": "wx201411101639507cbf6ffd8b0779950874", "trade_type": "JSAPI"}
biz = dict(ok, result_code="FAIL", err_code="ORDERPAID", err_code_des="该订单已支付")
del biz["prepay_id"]
def dup(fields, name, first):
    """The XML of `fields` with `name` given twice, `first` before the real one."""
    return xml(fields).replace("<xml>", f"<xml><{name}>{first}</{name}>", 1)

def md5_claiming_hmac(fields, key):
    f = dict(fields, sign_type="HMAC-SHA256")
    f["sign"] = md5_sign(f, key)
    return f

# `sign_type`: the algorithm the request was signed with, which its answer must be signed with.
answers = [
    {"name": "md5 signed success", "path": "/pay/unifiedorder", "sign_type": "MD5", "xml": xml(answer(ok, KEY, "md5"), True), "verdict": "ok"},
    {"name": "hmac signed success", "path": "/pay/unifiedorder", "sign_type": "HMAC-SHA256", "xml": xml(answer(ok, KEY, "hmac"), True), "verdict": "ok"},
    {"name": "an md5 sign to an hmac request", "path": "/pay/unifiedorder", "sign_type": "HMAC-SHA256", "xml": xml(answer(ok, KEY, "md5")), "verdict": "sign_mismatch"},
    {"name": "an md5 sign whose sign_type says hmac", "path": "/pay/unifiedorder", "sign_type": "HMAC-SHA256", "xml": xml(md5_claiming_hmac(ok, KEY)), "verdict": "sign_mismatch"},
    {"name": "an hmac sign to an md5 request", "path": "/pay/unifiedorder", "sign_type": "MD5", "xml": xml(answer(ok, KEY, "hmac")), "verdict": "sign_mismatch"},
    {"name": "lower-case hex sign", "path": "/pay/unifiedorder", "sign_type": "MD5", "xml": xml(answer(ok, KEY, "lowercase")), "verdict": "sign_mismatch"},
    {"name": "a field given twice", "path": "/pay/unifiedorder", "sign_type": "MD5", "xml": dup(answer(ok, KEY, "md5"), "trade_type", "NATIVE"), "verdict": "xml"},
    {"name": "a bogus sign before the real one", "path": "/pay/unifiedorder", "sign_type": "MD5", "xml": dup(answer(ok, KEY, "md5"), "sign", "0" * 32), "verdict": "xml"},
    {"name": "result_code FAIL before SUCCESS", "path": "/pay/unifiedorder", "sign_type": "MD5", "xml": dup(answer(ok, KEY, "md5"), "result_code", "FAIL"), "verdict": "xml"},
    {"name": "a wrong sign on an unsigned-answer path", "path": "/mmpaymkttransfers/sendredpack", "sign_type": "MD5", "xml": xml(answer(ok, KEY, "wrong")), "verdict": "sign_mismatch"},
    {"name": "a right sign on an unsigned-answer path", "path": "/mmpaymkttransfers/sendredpack", "sign_type": "MD5", "xml": xml(answer(ok, KEY, "md5")), "verdict": "ok"},
    {"name": "wrong sign", "path": "/pay/unifiedorder", "sign_type": "MD5", "xml": xml(answer(ok, KEY, "wrong")), "verdict": "sign_mismatch"},
    {"name": "signed with another key", "path": "/pay/unifiedorder", "sign_type": "MD5", "xml": xml(answer(ok, OFFICIAL_KEY, "md5")), "verdict": "sign_mismatch"},
    {"name": "missing sign", "path": "/pay/unifiedorder", "sign_type": "MD5", "xml": xml(ok), "verdict": "missing_sign"},
    {"name": "missing sign on an unsigned-answer path", "path": "/mmpaymkttransfers/sendredpack", "sign_type": "MD5", "xml": xml(ok), "verdict": "ok"},
    {"name": "return_code FAIL (unsigned)", "path": "/pay/unifiedorder", "sign_type": "MD5", "xml": xml({"return_code": "FAIL", "return_msg": "签名错误"}), "verdict": "return"},
    {"name": "result_code FAIL, signed", "path": "/pay/unifiedorder", "sign_type": "MD5", "xml": xml(answer(biz, KEY, "md5"), True), "verdict": "business"},
    {"name": "a changed field", "path": "/pay/unifiedorder", "sign_type": "MD5", "xml": xml(answer(ok, KEY, "md5")).replace("JSAPI", "NATIVE"), "verdict": "sign_mismatch"},
    {"name": "not XML", "path": "/pay/unifiedorder", "sign_type": "MD5", "xml": "<html>502 Bad Gateway</html", "verdict": "xml"},
]

# Refund notification: req_info = base64(AES-256-ECB/PKCS#7, key = lower-case hex MD5 of the APIv2 key).
aes_key = hashlib.md5(KEY.encode()).hexdigest()
plain = "<root><out_refund_no><![CDATA[REFUND-0001]]></out_refund_no><out_trade_no><![CDATA[ORDER-0001]]></out_trade_no><refund_account><![CDATA[REFUND_SOURCE_RECHARGE_FUNDS]]></refund_account><refund_fee><![CDATA[300]]></refund_fee><refund_id><![CDATA[50000408012017050601000166612]]></refund_id><refund_recv_accout><![CDATA[支付用户零钱]]></refund_recv_accout><refund_request_source><![CDATA[API]]></refund_request_source><refund_status><![CDATA[SUCCESS]]></refund_status><settlement_refund_fee><![CDATA[300]]></settlement_refund_fee><settlement_total_fee><![CDATA[880]]></settlement_total_fee><success_time><![CDATA[2027-01-15 16:00:06]]></success_time><total_fee><![CDATA[880]]></total_fee><transaction_id><![CDATA[4200000000202701150001]]></transaction_id></root>"
ct = subprocess.run(["openssl", "enc", "-aes-256-ecb", "-K", aes_key.encode().hex(), "-nosalt"], input=plain.encode(), capture_output=True, check=True).stdout
req_info = base64.b64encode(ct).decode()
refund = {"key": KEY, "aes_key": aes_key, "req_info": req_info, "plaintext": plain,
          "notification": xml({"return_code": "SUCCESS", "appid": "wx2421b1c4370ec43b", "mch_id": "1900000109", "nonce_str": "TeqClE3i0mvn3DrK", "req_info": req_info}, True)}

pay_notify = answer({"appid": "wx2421b1c4370ec43b", "attach": "支付测试", "bank_type": "CFT", "fee_type": "CNY", "is_subscribe": "Y", "mch_id": "1900000109", "nonce_str": "5d2b6c2a8db53831f7eda20af46e531c", "openid": "oUpF8uMEb4qRXf22hE3X68TekukE", "out_trade_no": "1409811653", "result_code": "SUCCESS", "return_code": "SUCCESS", "time_end": "20140903131540", "total_fee": "1", "coupon_fee": "10", "coupon_count": "1", "coupon_type": "CASH", "coupon_id": "10000", "trade_type": "JSAPI", "transaction_id": "1004400740201409030005092168"}, KEY, "md5")

jsapi = {"appId": "wx2421b1c4370ec43b", "timeStamp": "1395712654", "nonceStr": "e61463f8efa94090b1f366cccfbbb444", "package": "prepay_id=u802345jgfjsdfgsdg888", "signType": "MD5"}
jsapi_h = dict(jsapi, signType="HMAC-SHA256")
paysign = [{"fields": jsapi, "key": KEY, "pay_sign": md5_sign(jsapi, KEY)}, {"fields": jsapi_h, "key": KEY, "pay_sign": hmac_sign(jsapi_h, KEY)}]

pay_notify_fail = answer(dict({k: v for k, v in pay_notify.items() if k != "sign"}, result_code="FAIL", err_code="SYSTEMERROR", err_code_des="系统错误"), KEY, "md5")

out = {"note": "Made by tools/gen_v2_vectors.py with hashlib/hmac and the OpenSSL CLI, not with wechatpay-rs. TEST-ONLY keys.",
       "signs": signs, "answers": answers, "refund": refund,
       "pay_notification": {"key": KEY, "xml": xml(pay_notify, True), "fail_xml": xml(pay_notify_fail, True)},
       "jsapi_paysign": paysign}
path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "v2", "vectors.json")
with open(path, "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
    f.write("\n")
print("wrote", path)
