"""Names of people in film talk: common first names and well-known directors and actors.

The catalogs recbot ships with have no cast or crew fields, so a name in a message ("not Scorsese
again", "anything with Tom Hanks") is a request the catalog cannot apply; the bot has to notice it
to say so (:mod:`bot.understand.unknown_attributes`) and not to read it as a title ("I love Kevin Hart" is not
the stand-up film "Kevin Hart: I'm a Grown Little Man"). The lists are vocabulary, not a database:
a name that is missing still counts as a person when its context says so ("directed by X",
"starring X", "with X in it").
"""

from __future__ import annotations

DIRECTORS = frozenset(
    """scorsese spielberg tarantino kubrick hitchcock nolan fincher coppola lucas cameron ridley-scott
    tony-scott zemeckis burton wes-anderson paul-thomas-anderson pta coen coens lynch cronenberg
    carpenter craven raimi jackson del-toro cuaron inarritu villeneuve bigelow eastwood allen
    woody-allen polanski kurosawa miyazaki fellini bergman truffaut godard leone wilder capra ford
    john-ford hughes john-hughes reiner rob-reiner ron-howard howard bay michael-bay snyder
    zack-snyder abrams whedon gilliam boyle danny-boyle ritchie guy-ritchie soderbergh linklater
    aronofsky jarmusch lee spike-lee mann michael-mann de-palma depalma friedkin peckinpah
    verhoeven shyamalan wright edgar-wright gerwig peele jordan-peele waititi taika-waititi
    sofia-coppola jenkins chazelle mcqueen iñárritu bong bong-joon-ho park-chan-wook wong-kar-wai
    almodovar haneke von-trier lars-von-trier malick terrence-malick kazan welles orson-welles
    """.split()
)
ACTORS = frozenset(
    """tom-hanks tom-cruise brad-pitt leonardo-dicaprio dicaprio johnny-depp will-smith jim-carrey
    adam-sandler ben-stiller robin-williams eddie-murphy kevin-hart denzel-washington
    morgan-freeman samuel-l-jackson samuel-jackson al-pacino pacino robert-de-niro de-niro deniro
    jack-nicholson meryl-streep julia-roberts sandra-bullock nicole-kidman scarlett-johansson
    jennifer-lawrence jennifer-aniston angelina-jolie cameron-diaz reese-witherspoon emma-stone
    natalie-portman kate-winslet anne-hathaway keanu-reeves nicolas-cage nic-cage bruce-willis
    arnold-schwarzenegger schwarzenegger sylvester-stallone stallone harrison-ford matt-damon
    ben-affleck george-clooney christian-bale heath-ledger hugh-jackman ryan-gosling ryan-reynolds
    chris-pratt chris-evans chris-hemsworth robert-downey-jr robert-downey dwayne-johnson the-rock
    vin-diesel jason-statham liam-neeson mel-gibson clint-eastwood steve-martin bill-murray
    will-ferrell owen-wilson seth-rogen jonah-hill melissa-mccarthy jack-black chris-farley
    mike-myers jackie-chan bruce-lee jet-li tom-hardy joaquin-phoenix gary-oldman anthony-hopkins
    jodie-foster sigourney-weaver uma-thurman john-travolta kevin-spacey kevin-costner
    michael-keaton jeff-bridges jake-gyllenhaal zac-efron channing-tatum mark-wahlberg
    wahlberg shia-labeouf keira-knightley orlando-bloom daniel-radcliffe emma-watson
    audrey-hepburn humphrey-bogart cary-grant james-stewart jimmy-stewart marilyn-monroe
    grace-kelly katharine-hepburn marlon-brando paul-newman steve-mcqueen charlie-chaplin chaplin
    chevy-chase dan-aykroyd jamie-foxx halle-berry viola-davis octavia-spencer idris-elba
    margot-robbie charlize-theron tilda-swinton cate-blanchett amy-adams julianne-moore
    """.split()
)
# Common first names: "Kevin Hart", "Jim Carrey" look like a person even when unlisted.
FIRST_NAMES = frozenset(
    """james john robert michael william david richard joseph thomas charles christopher daniel matthew
    anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward
    jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin
    samuel gregory alexander frank patrick raymond jack dennis jerry tyler aaron jose adam nathan
    henry douglas zachary peter kyle ethan walter noah jeremy christian keith roger terry gerald
    harold sean austin carl arthur lawrence dylan jesse jordan bryan billy joe bruce gabriel logan
    albert willie alan juan wayne elijah randy roy vincent ralph eugene russell bobby mason philip
    louis tom tommy jim jimmy bill bob mike steve chris matt ben dan danny nick tony johnny jeff will
    hugh keanu brad leonardo denzel morgan al jake owen seth jonah jackie jet liam mel clint vin
    harrison arnold sylvester nicolas bruce heath zac channing shia orlando humphrey cary marlon
    chevy eddie robin jamie idris joaquin quentin martin steven stanley alfred christopher wes spike
    mary patricia jennifer linda elizabeth barbara susan jessica sarah karen nancy lisa betty
    margaret sandra ashley kimberly emily donna michelle dorothy carol amanda melissa deborah
    stephanie rebecca sharon laura cynthia kathleen amy shirley angela helen anna brenda pamela
    nicole emma samantha katherine christine debra rachel catherine carolyn janet ruth maria
    heather diane virginia julie joyce victoria olivia kelly christina lauren joan evelyn judith
    megan cheryl andrea hannah martha jacqueline frances gloria ann teresa kathryn sara janice jean
    alice madison doris abigail julia judy grace denise amber marilyn beverly danielle theresa
    sophia marie diana brittany natalie isabella charlotte rose alexis kayla meryl julianne scarlett
    reese natalie kate keira anne audrey katharine halle viola octavia margot charlize tilda cate
    uma jodie sigourney melissa sofia greta meg ellen goldie diane bette""".split()
)


# Surnames that are ordinary words or other people's names too: alone they name nobody.
AMBIGUOUS_SURNAMES = frozenset(
    "allen lee ford howard jackson wright mann bay jenkins carpenter cameron lucas burton bong park "
    "snyder hughes reiner cage rock ford wilder lynch craven mcqueen peele jordan".split()
)


def person_role(words: list[str]) -> str | None:
    """ "director" / "actor" for a listed name (lower-case words), else None."""
    key = "-".join(words)
    if key in ACTORS:
        return "actor"
    if key in DIRECTORS:
        return "director" if len(words) > 1 or key not in AMBIGUOUS_SURNAMES else None
    if len(words) >= 2 and words[-1] in DIRECTORS and words[0] in FIRST_NAMES:
        return "director"
    return None
