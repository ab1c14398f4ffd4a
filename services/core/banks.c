/*
 * banks.c - NAPAS member banks (banks.h): the common members of the NAPAS 247
 * network with the BINs VietQR codes carry, their short names as their apps
 * and cards show them, and their registered names.
 */
#include "core/banks.h"

#include <string.h>

/* clang-format off */
static const fg_bank_t BANKS[] = {
    {"970436", "Vietcombank", "Ngân hàng TMCP Ngoại thương Việt Nam"},
    {"970415", "VietinBank", "Ngân hàng TMCP Công thương Việt Nam"},
    {"970418", "BIDV", "Ngân hàng TMCP Đầu tư và Phát triển Việt Nam"},
    {"970405", "Agribank", "Ngân hàng Nông nghiệp và Phát triển Nông thôn Việt Nam"},
    {"970422", "MB", "Ngân hàng TMCP Quân đội"},
    {"970407", "Techcombank", "Ngân hàng TMCP Kỹ thương Việt Nam"},
    {"970416", "ACB", "Ngân hàng TMCP Á Châu"},
    {"970432", "VPBank", "Ngân hàng TMCP Việt Nam Thịnh Vượng"},
    {"970423", "TPBank", "Ngân hàng TMCP Tiên Phong"},
    {"970403", "Sacombank", "Ngân hàng TMCP Sài Gòn Thương Tín"},
    {"970437", "HDBank", "Ngân hàng TMCP Phát triển Thành phố Hồ Chí Minh"},
    {"970441", "VIB", "Ngân hàng TMCP Quốc tế Việt Nam"},
    {"970443", "SHB", "Ngân hàng TMCP Sài Gòn - Hà Nội"},
    {"970431", "Eximbank", "Ngân hàng TMCP Xuất Nhập khẩu Việt Nam"},
    {"970426", "MSB", "Ngân hàng TMCP Hàng Hải Việt Nam"},
    {"970448", "OCB", "Ngân hàng TMCP Phương Đông"},
    {"970449", "LPBank", "Ngân hàng TMCP Lộc Phát Việt Nam"},
    {"970440", "SeABank", "Ngân hàng TMCP Đông Nam Á"},
    {"970429", "SCB", "Ngân hàng TMCP Sài Gòn"},
    {"970454", "BVBank", "Ngân hàng TMCP Bản Việt"},
    {"970428", "Nam A Bank", "Ngân hàng TMCP Nam Á"},
    {"970438", "BaoViet Bank", "Ngân hàng TMCP Bảo Việt"},
    {"970409", "Bac A Bank", "Ngân hàng TMCP Bắc Á"},
    {"970412", "PVcomBank", "Ngân hàng TMCP Đại Chúng Việt Nam"},
    {"970419", "NCB", "Ngân hàng TMCP Quốc Dân"},
    {"970425", "ABBANK", "Ngân hàng TMCP An Bình"},
    {"970427", "VietABank", "Ngân hàng TMCP Việt Á"},
    {"970433", "VietBank", "Ngân hàng TMCP Việt Nam Thương Tín"},
    {"970430", "PGBank", "Ngân hàng TMCP Thịnh vượng và Phát triển"},
    {"970452", "KienlongBank", "Ngân hàng TMCP Kiên Long"},
    {"970400", "Saigonbank", "Ngân hàng TMCP Sài Gòn Công Thương"},
    {"970406", "Vikki Bank", "Ngân hàng TNHH MTV Số Vikki (DongA Bank)"},
    {"970414", "MBV", "Ngân hàng TNHH MTV Việt Nam Hiện Đại (OceanBank)"},
    {"970408", "GPBank", "Ngân hàng TNHH MTV Dầu khí Toàn cầu"},
    {"970444", "CBBank", "Ngân hàng TNHH MTV Xây dựng Việt Nam"},
    {"970446", "Co-opBank", "Ngân hàng Hợp tác xã Việt Nam"},
    {"970421", "VRB", "Ngân hàng Liên doanh Việt - Nga"},
    {"970434", "Indovina Bank", "Ngân hàng TNHH Indovina"},
    {"970424", "Shinhan Bank", "Ngân hàng TNHH MTV Shinhan Việt Nam"},
    {"970410", "Standard Chartered", "Ngân hàng TNHH MTV Standard Chartered Bank Việt Nam"},
    {"970439", "Public Bank", "Ngân hàng TNHH MTV Public Việt Nam"},
    {"970442", "Hong Leong Bank", "Ngân hàng TNHH MTV Hong Leong Việt Nam"},
    {"970457", "Woori Bank", "Ngân hàng TNHH MTV Woori Việt Nam"},
    {"970458", "UOB", "Ngân hàng TNHH MTV United Overseas Bank (Việt Nam)"},
    {"458761", "HSBC", "Ngân hàng TNHH MTV HSBC (Việt Nam)"},
    {"422589", "CIMB", "Ngân hàng TNHH MTV CIMB Việt Nam"},
};
/* clang-format on */

#define BANK_COUNT ((int)(sizeof(BANKS) / sizeof(BANKS[0])))

const fg_bank_t *fg_bank_find(const char *bin)
{
    if (bin == NULL)
        return NULL;
    for (int i = 0; i < BANK_COUNT; i++)
        if (strcmp(BANKS[i].bin, bin) == 0)
            return &BANKS[i];
    return NULL;
}

const fg_bank_t *fg_banks(int *count)
{
    *count = BANK_COUNT;
    return BANKS;
}
