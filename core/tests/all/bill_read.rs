//! Reading bills into typed rows, the summary check, and reconciliation.

use wechatpay_core::bill::{
    BillKind, BillReader, BillRow, BillRows, BillSummary, Column, Difference, Direction, Fen,
    Reconciler, Record, RefundStatus, Total, TradeState,
};
use wechatpay_core::BillReadError;

const ALL_HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const SUMMARY_HEADER: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";

fn all_bill(summary: &str) -> String {
    [
        ALL_HEADER,
        "`2026-12-06 09:15:02,`wxd678efh567hg6787,`1900000001,`0,`,`4200000001202612060000000001,`ORDER-1,`oUser1,`NATIVE,`SUCCESS,`OTHERS,`CNY,`100.00,`0.00,`0,`0,`0.00,`0.00,`,`,`Coffee,`,`0.60000,`0.60%,`100.00,`0.00,`",
        "`2026-12-06 10:00:00,`wxd678efh567hg6787,`1900000001,`0,`,`4200000001202612060000000002,`ORDER-2,`oUser2,`JSAPI,`SUCCESS,`CMB_DEBIT,`CNY,`12.34,`0.00,`0,`0,`0.00,`0.00,`,`,`Tea,`note,`0.07000,`0.60%,`12.34,`0.00,`",
        "`2026-12-06 11:30:00,`wxd678efh567hg6787,`1900000001,`0,`,`4200000001202612060000000001,`ORDER-1,`oUser1,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300000012026120600000001,`REFUND-1,`30.00,`0.00,`ORIGINAL,`SUCCESS,`Coffee,`,`-0.18000,`0.60%,`0.00,`30.00,`",
        SUMMARY_HEADER,
        summary,
    ]
    .join("\r\n")
        + "\r\n"
}

const GOOD_SUMMARY: &str = "`3,`112.34,`30.00,`0.00,`0.49000,`112.34,`30.00";

fn read(bill: &[u8]) -> Result<(Vec<BillRow>, BillSummary), BillReadError> {
    let mut rows = BillRows::new(bill);
    let mut out = Vec::new();
    for r in rows.by_ref() {
        out.push(r?);
    }
    Ok((
        out,
        rows.summary().cloned().expect("a summary after the rows"),
    ))
}

#[test]
fn trade_bill_rows_are_typed_and_the_summary_checks() {
    let bill = all_bill(GOOD_SUMMARY);
    let (rows, summary) = read(bill.as_bytes()).unwrap();
    assert_eq!(rows.len(), 3);
    let r = &rows[0];
    assert_eq!(r.kind(), BillKind::Trade);
    assert_eq!(r.line(), 2);
    assert_eq!(r.out_trade_no(), Some("ORDER-1"));
    assert_eq!(r.transaction_id(), Some("4200000001202612060000000001"));
    assert_eq!(r.trade_state(), Some(TradeState::Success));
    assert_eq!(r.money(Column::SettlementAmount), Some(Fen(10000)));
    assert_eq!(r.money(Column::Fee), Some(Fen(60)));
    assert_eq!(r.text(Column::FeeRate), Some("0.60%"));
    assert_eq!(r.text(Column::DeviceInfo), Some(""));
    assert_eq!(r.time_of_row().to_string(), "2026-12-06 09:15:02");
    assert_eq!(r.time_of_row().unix(), 1_796_519_702);
    assert!(!r.is_refund());
    let refund = &rows[2];
    assert_eq!(refund.line(), 4);
    assert!(refund.is_refund());
    assert_eq!(refund.out_refund_no(), Some("REFUND-1"));
    assert_eq!(refund.refund_status(), Some(RefundStatus::Success));
    assert_eq!(refund.money(Column::Fee), Some(Fen(-18)));
    assert_eq!(refund.money(Column::RefundApplyAmount), Some(Fen(3000)));
    assert_eq!(refund.extra().count(), 0);
    assert!(summary.agrees(), "{summary:?}");
    assert_eq!(summary.line(), 6);
    assert_eq!(summary.rows(), 3);
    assert_eq!(summary.stated("count"), Some(Total::Count(3)));
    assert_eq!(summary.stated("fee_total_fen"), Some(Total::Money(Fen(49))));
    assert_eq!(summary.items().len(), 7);
    let json = serde_json::to_value(&rows[1]).unwrap();
    assert_eq!(json["settlement_amount_fen"], 1234);
    assert_eq!(json["trade_time"], "2026-12-06T10:00:00+08:00");
    assert_eq!(json["attach"], "note");
    assert_eq!(json["device_info"], serde_json::Value::Null);
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["refund_total_fen"]["stated"], 3000);
    assert_eq!(json["refund_total_fen"]["counted"], 3000);
}

#[test]
fn columns_are_found_by_name_in_any_order_and_unknown_ones_are_kept() {
    // Reverse the columns of every line and add one WeChat Pay may add one day.
    let bill = all_bill(GOOD_SUMMARY);
    let mut lines: Vec<String> = bill.lines().map(str::to_string).collect();
    for (i, line) in lines.iter_mut().enumerate().take(4) {
        let mut f: Vec<&str> = line.split(',').collect();
        f.reverse();
        let extra = if i == 0 { "新的列" } else { "`new value" };
        *line = format!("{},{extra}", f.join(","));
    }
    let (rows, summary) = read(lines.join("\n").as_bytes()).unwrap();
    assert!(summary.agrees());
    assert_eq!(rows[1].out_trade_no(), Some("ORDER-2"));
    assert_eq!(rows[1].money(Column::OrderAmount), Some(Fen(1234)));
    assert_eq!(
        rows[1].extra().collect::<Vec<_>>(),
        [("新的列", "new value")]
    );
    assert_eq!(
        serde_json::to_value(&rows[1]).unwrap()["extra"]["新的列"],
        "new value"
    );
}

#[test]
fn any_chunking_reads_the_same() {
    let bill = all_bill(GOOD_SUMMARY);
    let (whole, summary) = read(bill.as_bytes()).unwrap();
    for size in [1, 2, 7, 64] {
        let mut reader = BillReader::new();
        let mut rows = Vec::new();
        for chunk in bill.as_bytes().chunks(size) {
            reader.push(chunk, &mut rows).unwrap();
        }
        let s = reader.finish(&mut rows).unwrap();
        assert_eq!(s, summary, "chunks of {size}");
        assert_eq!(rows.len(), whole.len());
        for (a, b) in rows.iter().zip(&whole) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
    }
    // Without line ends at all but the last line's: the last row and summary still come.
    let trimmed = bill.trim_end();
    let (_, s) = read(trimmed.as_bytes()).unwrap();
    assert_eq!(s.line(), 6);
}

#[test]
fn refund_success_and_older_apiv2_bills() {
    let refund = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n\
`2019-07-23 20:53:36,`wx1,`1900000001,`0,`,`4200000001,`ORDER-9,`oUser,`JSAPI,`REFUND,`CFT,`CNY,`0.00,`0.00,`2019-07-23 20:53:36,`2019-07-23 20:53:40,`5030001,`REFUND-9,`0.01,`0.00,`ORIGINAL,`PROCESSING,`Tea,`,`0.00000,`0.60%,`0.00,`0.01,`\n\
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n\
`1,`0.00,`0.01,`0.00,`0.00000,`0.00,`0.01\n";
    let (rows, s) = read(refund.as_bytes()).unwrap();
    assert!(s.agrees());
    assert_eq!(
        rows[0].time(Column::RefundSuccessTime).unwrap().to_string(),
        "2019-07-23 20:53:40"
    );
    assert_eq!(rows[0].refund_status(), Some(RefundStatus::Processing));

    let success = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注\n\
`2019-07-23 18:46:41,`wx1,`1900000001,`0,`,`4200000002,`ORDER-8,`oUser,`JSAPI,`SUCCESS,`CFT,`CNY,`0.01,`0.00,`Tea,`,`0.00000,`0.60%,`0.01,`\n\
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n\
`1,`0.01,`0.00,`0.00,`0.00000,`0.01,`0.00\n";
    let (rows, s) = read(success.as_bytes()).unwrap();
    // 退款总金额 has no column to add up in a SUCCESS bill: it is not counted.
    assert!(s.agrees());
    assert_eq!(rows[0].text(Column::RefundId), None);

    let older = "交易时间,公众账号ID,商户号,子商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,总金额,代金券或立减优惠金额,微信退款单号,商户退款单号,退款金额,代金券或立减优惠退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率\n\
`2014-11-10 16：33：45,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1001690740201411100005734289,`1415640626,`085e9858e3ba5186aafcbaed1,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`0.01,`0.0,`0,`0,`0,`0,`,`,`被扫支付测试,`订单额外描述,`0,`0.60%\n\
`2014-11-10 16：46：14,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1002780740201411100005729794,`1415635270,`085e9858e90ca40c0b5aee463,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`0.01,`0.0,`0,`0,`0,`0,`,`,`被扫支付测试,`订单额外描述,`0,`0.60%\n\
总交易单数,总交易额,总退款金额,总代金券或立减优惠退款金额,手续费总金额\n\
`2,`0.02,`0.0,`0.0,`0\n";
    let (rows, s) = read(older.as_bytes()).unwrap();
    assert!(s.agrees(), "{s:?}");
    assert_eq!(rows[1].money(Column::OrderAmount), Some(Fen(1)));
    assert_eq!(rows[1].text(Column::SubMchId), Some("0"));
    assert_eq!(rows[0].time_of_row().to_string(), "2014-11-10 16:33:45");
}

#[test]
fn fund_flow_bill_counts_income_and_expense() {
    let bill = "\u{feff}记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号\n\
`2021-02-01 13:54:01,`50300806962021020105978994968,`4200000920202101197964319284,`退款,`退款,`支出,`0.01,`0.22,`1601959334API,`退款总金额0.01元;含手续费0.00元,`S20210201135356381941\n\
`2021-02-01 14:00:45,`50300907032021020105978998710,`4200000846202101197461830397,`退款,`退款,`支出,`0.01,`0.21,`1601959334API,\"`note, with a comma\",`S20210201140044552846\n\
`2021-02-01 15:00:00,`4200000846202101197461830398,`4200000846202101197461830398,`交易,`交易,`收入,`0.01,`0.22,`system,`,`\n\
资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\n\
`3,`1,`0.01,`2,`0.02\n";
    let (rows, s) = read(bill.as_bytes()).unwrap();
    assert_eq!(s.kind(), BillKind::FundFlow);
    assert!(s.agrees(), "{s:?}");
    assert_eq!(rows[1].direction(), Some(Direction::Expense));
    assert_eq!(rows[1].text(Column::Remark), Some("note, with a comma"));
    assert_eq!(rows[2].money(Column::Balance), Some(Fen(22)));
    assert_eq!(s.stated("expense_total_fen"), Some(Total::Money(Fen(2))));
    // One expense too many in the summary.
    let (_, s) = read(
        bill.replace("`3,`1,`0.01,`2,`0.02", "`3,`1,`0.01,`2,`0.03")
            .as_bytes(),
    )
    .unwrap();
    let bad: Vec<_> = s.disagreements().map(|i| i.name.as_str()).collect();
    assert_eq!(bad, ["支出金额"]);
}

#[test]
fn a_summary_that_disagrees_is_reported_by_column() {
    let bill = all_bill("`4,`112.34,`30.00,`0.00,`0.49000,`112.35,`30.00");
    let (_, s) = read(bill.as_bytes()).unwrap();
    assert!(!s.agrees());
    let bad: Vec<_> = s
        .disagreements()
        .map(|i| (i.name.as_str(), i.stated, i.counted))
        .collect();
    assert_eq!(
        bad,
        [
            ("总交易单数", Some(Total::Count(4)), Some(Total::Count(3))),
            (
                "订单总金额",
                Some(Total::Money(Fen(11235))),
                Some(Total::Money(Fen(11234)))
            ),
        ]
    );
}

#[test]
fn a_truncated_bill_is_an_error_naming_the_line() {
    let bill = all_bill(GOOD_SUMMARY);
    // Cut after the detail rows: no summary.
    let cut = bill.find("总交易单数").unwrap();
    let e = read(&bill.as_bytes()[..cut]).unwrap_err();
    assert!(
        matches!(
            e,
            BillReadError::Truncated {
                line: 5,
                missing: "the summary"
            }
        ),
        "{e}"
    );
    // Cut after the summary header.
    let cut = bill.find("`3,`112").unwrap();
    let e = read(&bill.as_bytes()[..cut]).unwrap_err();
    assert!(
        matches!(
            e,
            BillReadError::Truncated {
                line: 6,
                missing: "the summary row"
            }
        ),
        "{e}"
    );
    // Cut inside a row: that row is short.
    let cut = bill.find("`Tea").unwrap();
    let e = read(&bill.as_bytes()[..cut]).unwrap_err();
    assert!(
        matches!(
            e,
            BillReadError::FieldCount {
                line: 3,
                expected: 27,
                found: 21
            }
        ),
        "{e}"
    );
    assert_eq!(e.line(), Some(3));
    // Nothing at all.
    let e = read(b"").unwrap_err();
    assert!(
        matches!(
            e,
            BillReadError::Truncated {
                line: 1,
                missing: "the header"
            }
        ),
        "{e}"
    );
    // Rows stream before the error: a caller sees the rows, then the error, never a short Ok.
    let cut = bill.find("总交易单数").unwrap();
    let items: Vec<_> = BillRows::new(&bill.as_bytes()[..cut]).collect();
    assert_eq!(items.len(), 4);
    assert!(items[..3].iter().all(Result::is_ok));
    assert!(items[3].is_err());
}

#[test]
fn bad_input_gets_a_typed_error_with_line_and_column() {
    let bill = all_bill(GOOD_SUMMARY);
    let e = read(bill.replacen("`12.34", "`12.3x", 1).as_bytes()).unwrap_err();
    match &e {
        BillReadError::Cell {
            line,
            column,
            value,
            ..
        } => {
            assert_eq!(
                (*line, column.as_str(), value.as_str()),
                (3, "应结订单金额", "12.3x")
            );
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("line 3, column 应结订单金额"), "{e}");
    // Below the fen: cannot be counted exactly.
    let e = read(bill.replacen("`0.07000", "`0.07500", 1).as_bytes()).unwrap_err();
    assert!(e.to_string().contains("below the fen"), "{e}");
    // A time that is not one.
    let e = read(
        bill.replacen("`2026-12-06 10:00:00", "`2026-13-06 10:00:00", 1)
            .as_bytes(),
    )
    .unwrap_err();
    assert!(matches!(e, BillReadError::Cell { line: 3, .. }), "{e}");
    // Not a bill.
    let e = read(b"<xml><return_code>FAIL</return_code></xml>\n").unwrap_err();
    assert!(matches!(e, BillReadError::NotABill { line: 1, .. }), "{e}");
    // A header without a column every trade bill has.
    let e = read(bill.replacen("商户订单号", "订单号", 1).as_bytes()).unwrap_err();
    assert!(matches!(e, BillReadError::NotABill { .. }), "{e}");
    let e = read(bill.replacen("交易时间", "时间", 1).as_bytes()).unwrap_err();
    assert!(
        matches!(
            e,
            BillReadError::MissingColumn {
                line: 1,
                column: "交易时间"
            }
        ),
        "{e}"
    );
    // Invalid UTF-8 on line 3.
    let mut bytes = bill.clone().into_bytes();
    let at = bill.find("Tea").unwrap();
    bytes[at] = 0xff;
    assert!(matches!(
        read(&bytes).unwrap_err(),
        BillReadError::InvalidUtf8 { line: 3 }
    ));
    // A summary count that is not a number.
    let e =
        read(all_bill("`x,`112.34,`30.00,`0.00,`0.49000,`112.34,`30.00").as_bytes()).unwrap_err();
    assert!(matches!(e, BillReadError::Cell { line: 6, .. }), "{e}");
    // A row without its own time.
    let e = read(bill.replacen("`2026-12-06 10:00:00", "`", 1).as_bytes()).unwrap_err();
    assert!(
        matches!(&e, BillReadError::Cell { line: 3, column, reason, .. } if column == "交易时间" && reason == "empty"),
        "{e}"
    );
    // A summary row with a field too few.
    let e = read(all_bill("`3,`112.34,`30.00,`0.00,`0.49000,`112.34").as_bytes()).unwrap_err();
    assert!(
        matches!(
            e,
            BillReadError::FieldCount {
                line: 6,
                expected: 7,
                found: 6
            }
        ),
        "{e}"
    );
    // A fund-flow header without 收支类型.
    let e = read("记账时间,资金流水单号,收支金额(元)\n".as_bytes()).unwrap_err();
    assert!(
        matches!(
            e,
            BillReadError::MissingColumn {
                line: 1,
                column: "收支类型"
            }
        ),
        "{e}"
    );
    // A line of thousands of empty fields: refused at the field limit.
    let e = read(format!("{}\n", ",".repeat(10_000)).as_bytes()).unwrap_err();
    assert!(
        matches!(e, BillReadError::RowTooLong { line: 1, .. }),
        "{e}"
    );
    // Data after the summary row.
    let e = read(format!("{bill}`more\n").as_bytes()).unwrap_err();
    assert!(matches!(e, BillReadError::AfterSummary { line: 7 }), "{e}");
    // A file that never ends a line: refused at the row limit, memory bounded.
    let mut reader = BillReader::new().max_row_bytes(4096);
    let mut rows = Vec::new();
    let mut e = None;
    for _ in 0..100 {
        if let Err(x) = reader.push(&[b'a'; 1000], &mut rows) {
            e = Some(x);
            break;
        }
    }
    assert!(matches!(
        e,
        Some(BillReadError::RowTooLong {
            line: 1,
            limit: 4096
        })
    ));
}

fn rows_of(bill: &str) -> Vec<BillRow> {
    read(bill.as_bytes()).unwrap().0
}

#[test]
fn reconciliation_matches_payments_and_refunds() {
    let rows = rows_of(&all_bill(GOOD_SUMMARY));
    let reconcile = |records: Vec<Record>| {
        let mut r = Reconciler::new(records);
        for row in &rows {
            r.add(row);
        }
        r.finish()
    };
    let exact = vec![
        Record::new("ORDER-1", Fen(10000), "SUCCESS"),
        Record::new("ORDER-2", Fen(1234), "SUCCESS"),
        Record::new("ORDER-1", Fen(3000), "REFUND").refund_no("REFUND-1"),
        // Never paid: not in the bill, as it should be.
        Record::new("ORDER-3", Fen(500), "CLOSED"),
    ];
    let r = reconcile(exact.clone());
    assert!(r.agrees(), "{r}");
    assert_eq!(r.matched, 3);
    assert!(r.to_string().contains("3 entries matched"));

    // A refund matched by its order number when the records have no refund number.
    let mut no_refund_no = exact.clone();
    no_refund_no[2].out_refund_no = None;
    assert!(reconcile(no_refund_no).agrees());

    // One amount changed, one payment left out, one unpaid order that the bill says is paid
    // (a lost notification), and a record of a refund that the bill does not have.
    let records = vec![
        Record::new("ORDER-1", Fen(9999), "SUCCESS"),
        Record::new("ORDER-1", Fen(3000), "REFUND").refund_no("REFUND-1"),
        Record::new("ORDER-4", Fen(100), "REFUND").refund_no("REFUND-4"),
    ];
    let r = reconcile(records);
    assert_eq!(r.differences.len(), 3, "{r}");
    assert!(matches!(
        &r.differences[0],
        Difference::Amount { bill, records } if bill.amount == Fen(10000) && records.amount == Fen(9999)
    ));
    assert!(
        matches!(&r.differences[1], Difference::NotInRecords { bill } if bill.out_trade_no == "ORDER-2" && bill.line == 3)
    );
    assert!(
        matches!(&r.differences[2], Difference::NotInBill { records } if records.out_trade_no == "ORDER-4")
    );
    let report = r.to_string();
    assert!(
        report.contains(
            "ORDER-1: payment of 100.00 yuan on line 2 of the bill, 99.99 yuan in the records"
        ),
        "{report}"
    );
    assert!(
        report.contains(
            "ORDER-2: payment of 12.34 yuan (SUCCESS) on line 3 of the bill is not in the records"
        ),
        "{report}"
    );

    // Paid here, refunded there; unpaid here, paid there.
    let records = vec![
        Record::new("ORDER-1", Fen(10000), "SUCCESS"),
        Record::new("ORDER-1", Fen(3000), "SUCCESS"),
        Record::new("ORDER-2", Fen(1234), "NOTPAY"),
    ];
    let r = reconcile(records);
    let states: Vec<_> = r
        .differences
        .iter()
        .map(|d| match d {
            Difference::State { bill, records } => (
                bill.out_trade_no.as_str(),
                bill.kind.to_string(),
                records.state.as_str(),
            ),
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(
        states,
        [
            ("ORDER-1", "refund".to_string(), "SUCCESS"),
            ("ORDER-2", "payment".to_string(), "NOTPAY")
        ]
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["differences"][0]["difference"], "state");
    assert_eq!(json["differences"][0]["bill"]["line"], 4);
}

#[test]
fn a_refund_that_did_not_succeed_is_a_state_difference() {
    let bill = all_bill(GOOD_SUMMARY).replace("`ORIGINAL,`SUCCESS", "`ORIGINAL,`ABNORMAL");
    let mut r = Reconciler::new(vec![
        Record::new("ORDER-1", Fen(10000), "SUCCESS"),
        Record::new("ORDER-2", Fen(1234), "SUCCESS"),
        Record::new("ORDER-1", Fen(3000), "REFUND").refund_no("REFUND-1"),
    ]);
    for row in rows_of(&bill) {
        r.add(&row);
    }
    let r = r.finish();
    assert_eq!(r.differences.len(), 1);
    assert!(
        r.differences[0]
            .to_string()
            .contains("refund REFUND-1 ABNORMAL on line 4"),
        "{r}"
    );
}

proptest::proptest! {
    /// Any bytes, in any chunks, give rows or a typed error: never a panic.
    #[test]
    fn any_input_is_read_or_refused(
        cut in 0usize..2000,
        flip in proptest::collection::vec((0usize..2000, proptest::prelude::any::<u8>()), 0..4),
        chunk in 1usize..50,
    ) {
        let mut bytes = all_bill(GOOD_SUMMARY).into_bytes();
        for (at, b) in flip {
            let n = bytes.len();
            bytes[at % n] = b;
        }
        bytes.truncate(cut.min(bytes.len()));
        let mut reader = BillReader::new();
        let mut rows = Vec::new();
        let mut failed = false;
        for c in bytes.chunks(chunk) {
            if reader.push(c, &mut rows).is_err() {
                failed = true;
                break;
            }
        }
        if !failed {
            let _ = reader.finish(&mut rows);
        }
        for r in &rows {
            let _ = serde_json::to_string(r);
        }
    }
}
