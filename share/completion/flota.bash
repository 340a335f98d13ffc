# SPDX-License-Identifier: MIT
# bash completion for flota(1).
#
# The verbs, their keywords and options, and the global options are read from the flota
# being completed (the hidden 'flota --list-verbs' and 'flota --list-options' print the
# tables in src/cli/main.c), so they cannot drift from the program. A verb's args follow the
# --help convention: lowercase words are keywords ("show ID | upload FILE ..."), UPPERCASE
# words placeholders (FILE completes file names), "--option VALUE" the verb's own options,
# " | " separates alternatives. Only the values of a few options are listed here.

# Values of an option: prints candidate words, FILE for file names, or nothing. ($flota is
# the caller's: the program being completed.)
_flota_values() {
    case $1 in
    --color) echo "auto always never" ;;
    --platform) echo "esp8266 esp32" ;;
    --kind) echo "sketch filesystem" ;;
    --sort) echo "id name product platform version target state sources online last-seen labels" ;; # flota devices
    --format) "$flota" ingest --list-formats 2>/dev/null | cut -d' ' -f1 | tr '\n' ' ' ;; # flota ingest's presets
    --config | -c | --db | --log) echo FILE ;;
    esac
}

# Completes file names, or the words of $1, or nothing (for values nobody can guess).
_flota_reply() {
    local cur=$2
    if [[ $1 == *FILE* ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    elif [[ $1 ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
    fi
}

_flota() {
    local flota=${COMP_WORDS[0]} cword=$COMP_CWORD cur=${COMP_WORDS[COMP_CWORD]} prev=''
    local -a words=("${COMP_WORDS[@]}")
    COMPREPLY=()

    # bash splits "--color=al" into "--color" "=" "al": look through the "="
    if [[ $cur == "=" ]]; then
        prev=${words[cword - 1]} cur=
    elif ((cword > 1)) && [[ ${words[cword - 1]} == "=" ]]; then
        prev=${words[cword - 2]}
    elif ((cword > 0)); then
        prev=${words[cword - 1]}
    fi

    # the tables of the flota being completed
    local -A verb_args=() takes_arg=()
    local -a verbs=() globals=()
    local name args long short arg
    while IFS=$'\t' read -r name args; do
        verbs+=("$name")
        verb_args[$name]=$args
    done < <("$flota" --list-verbs 2>/dev/null)
    while IFS=$'\t' read -r long arg short; do
        globals+=("$long")
        if [[ $arg == arg ]]; then
            takes_arg[$long]=1
            [[ $short ]] && takes_arg[$short]=1
        fi
    done < <("$flota" --list-options 2>/dev/null)

    # the verb: the first word that is neither a global option nor an option's value
    local i verb='' verb_at=0
    for ((i = 1; i < cword; i++)); do
        if [[ ${words[i]} == "=" ]]; then
            ((i++))
        elif [[ ${words[i]} == -* ]]; then
            [[ ${takes_arg[${words[i]}]} && ${words[i + 1]} != "=" ]] && ((i++))
        else
            verb=${words[i]} verb_at=$i
            break
        fi
    done

    if [[ -z $verb ]]; then
        if [[ $prev == -* && ${takes_arg[$prev]} ]]; then
            _flota_reply "$(_flota_values "$prev")" "$cur"
        elif [[ $cur == -* ]]; then
            _flota_reply "${globals[*]}" "$cur"
        else
            _flota_reply "${verbs[*]}" "$cur"
        fi
        return
    fi
    [[ -n ${verb_args[$verb]+set} ]] || return

    # the verb's alternatives, one a line; their keywords
    local alternatives=${verb_args[$verb]// | /$'\n'} alt word keyword='' chosen=''
    local -a keywords=()
    while read -r alt; do
        word=${alt%% *}
        [[ $word =~ ^[a-z][a-z-]*$ ]] && keywords+=("$word")
    done <<<"$alternatives"
    if ((${#keywords[@]} > 0)); then
        if ((cword == verb_at + 1)); then
            _flota_reply "${keywords[*]}" "$cur"
            return
        fi
        keyword=${words[verb_at + 1]}
    fi
    while read -r alt; do
        [[ -z $keyword || $alt == "$keyword" || $alt == "$keyword "* ]] && chosen=${alt#"$keyword"} && break
    done <<<"$alternatives"

    # its options (with the placeholder of their value) and its positional placeholders
    local -A option_value=()
    local -a options=(--json) positional=()
    local option=''
    for word in $chosen; do
        word=${word#[} word=${word%]}
        if [[ $word == --* ]]; then
            options+=("$word")
            option=$word
        elif [[ $option && $word =~ ^[A-Z] ]]; then
            option_value[$option]=$word
            option=
        else
            positional+=("$word")
            option=
        fi
    done

    local values
    values=$(_flota_values "$prev")
    if [[ $prev == -* && ( -n $values || -n ${option_value[$prev]} || -n ${takes_arg[$prev]} ) ]]; then
        [[ $values || ${option_value[$prev]} != *FILE* ]] || values=FILE
        _flota_reply "$values" "$cur"
        return
    fi
    if [[ $cur == -* ]]; then
        _flota_reply "${options[*]}" "$cur"
        return
    fi
    # which positional argument this is: count the ones before it, skipping options and values
    local n=0 first=$((verb_at + 1))
    [[ $keyword ]] && first=$((verb_at + 2))
    for ((i = first; i < cword; i++)); do
        if [[ ${words[i]} == "=" ]]; then
            ((i++))
        elif [[ ${words[i]} == -* ]]; then
            [[ ( ${option_value[${words[i]}]} || ${takes_arg[${words[i]}]} ) && ${words[i + 1]} != "=" ]] && ((i++))
        else
            ((n++))
        fi
    done
    [[ ${positional[n]} == *FILE* ]] && _flota_reply FILE "$cur"
}

complete -F _flota flota
