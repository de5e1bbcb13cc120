use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "A" => Some("alpha".into()),
        "P" => Some("linux/arm/v7".into()),
        "E" => Some(String::new()),
        "S" => Some("a  b".into()),
        _ => None,
    }
}

fn word(w: &str) -> Result<String, ExpandError> {
    Lexer::new('\\').expand_word(w, &env)
}

#[test]
fn operators() {
    assert_eq!(
        word("${A:-x}${U:-x}${E:-x}${E-x}").as_deref(),
        Ok("alphaxx")
    );
    assert_eq!(word("${A:+x}${U:+x}${E:+x}${E+x}").as_deref(), Ok("xx"));
    assert_eq!(
        word("${P#*/}|${P##*/}|${P%/*}|${P%%/*}").as_deref(),
        Ok("arm/v7|v7|linux/arm|linux")
    );
    assert_eq!(
        word("${P/\\//-}|${P//\\//-}").as_deref(),
        Ok("linux-arm/v7|linux-arm-v7")
    );
    assert_eq!(word("${A/l*/L}").as_deref(), Ok("aL"));
}

#[test]
fn required_variables_report_name_and_message() {
    assert_eq!(word("${U:?need U}").unwrap_err().to_string(), "U: need U");
    assert_eq!(
        word("${U?}").unwrap_err().to_string(),
        "U: is not allowed to be unset"
    );
    assert_eq!(
        word("${E:?}").unwrap_err().to_string(),
        "E: is not allowed to be empty"
    );
    assert_eq!(word("${E?}").as_deref(), Ok(""));
}

#[test]
fn errors() {
    assert_eq!(word("${A"), Err(ExpandError::MissingBrace));
    assert_eq!(word("${}"), Err(ExpandError::BadSubstitution));
    assert_eq!(word("${A/x"), Err(ExpandError::MissingSlash));
    assert_eq!(
        word("${A:#x}"),
        Err(ExpandError::UnsupportedModifier {
            modifier: ":#".into()
        })
    );
    assert_eq!(
        word("'abc"),
        Err(ExpandError::UnterminatedQuote { quote: '\'' })
    );
    assert!(matches!(
        word("${A#\\x}"),
        Err(ExpandError::InvalidPattern { .. })
    ));
}

#[test]
fn splitting_respects_quotes() {
    let l = Lexer::new('\\');
    assert_eq!(
        l.expand_words("x${S}y \"$S\" ''", &env).unwrap(),
        ["xa", "by", "a  b"]
    );
    // Words built inside a default value keep the text before them.
    assert_eq!(
        l.expand_words("pre${U:-a b}post", &env).unwrap(),
        ["prea", "bpost"]
    );
}

#[test]
fn backtick_escape() {
    let l = Lexer::new('`');
    assert_eq!(
        l.expand_word("C:\\dir `$A `\"x`\"", &env).unwrap(),
        "C:\\dir $A \"x\""
    );
}

#[test]
fn tracks_used_and_unset_names() {
    let e = Lexer::new('\\')
        .expand("$A ${U:-$E} ${P%/*}", &env)
        .unwrap();
    assert_eq!(e.used.into_iter().collect::<Vec<_>>(), ["A", "E", "P"]);
    assert_eq!(e.unset.into_iter().collect::<Vec<_>>(), ["U"]);
}

#[test]
fn keep_unset_leaves_references() {
    let opts = LexOptions {
        keep_unset: true,
        ..LexOptions::default()
    };
    let l = Lexer::with_options('\\', opts);
    assert_eq!(
        l.expand_word("$A $U ${U} ${U:-d} ${U//a/b}", &env).unwrap(),
        "alpha $U ${U} ${U:-d} ${U//a/b}"
    );
}
